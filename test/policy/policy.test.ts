// The policy's decisions: which rules apply to a caller, what they reach, and the reason each
// decision gives the audit. The worked example (test/fixtures/two-teams-policy.yaml, also shown
// in docs/policy.md) is checked case by case; the rules of matching are then pinned one at a time.
import { fileURLToPath } from 'node:url'
import t from 'tap'
import type { Identity } from '../../src/identity/identity.js'
import { loadPolicyFile, type PolicyDocument } from '../../src/policy/policy-file.js'
import { DEFAULT_POLICY, Policy, type ComputationAction, type Target, type TargetAction } from '../../src/policy/policy.js'
import type { OwnerRow } from '../../src/store/store.js'

const TWO_TEAMS_POLICY_FILE = fileURLToPath(new URL('../fixtures/two-teams-policy.yaml', import.meta.url))
/** The ids the worked example names (its placeholders for a real deployment's). */
const TEAM_A_CAPSULE = 'aaaaaaaa-0000-4000-8000-000000000001'
const SHARED_CAPSULE = '5a5a5a5a-0000-4000-8000-000000000002'
const TEAM_B_PIPELINE = 'bbbbbbbb-0000-4000-8000-000000000003'

function caller (subject: string, ...groups: string[]): Identity {
  return { subject, email: null, groups, method: 'service-key', keyId: null }
}

function owner (subject: string, groups: string[], target: Target): OwnerRow {
  return {
    computationId: `${subject}-on-${target.id}`,
    subject,
    groups,
    capsuleId: target.kind === 'capsule' ? target.id : null,
    pipelineId: target.kind === 'pipeline' ? target.id : null,
    createdAt: '2024-01-01T00:00:00.000Z',
    namespaced: true
  }
}

const capsule = (id: string): Target => ({ kind: 'capsule', id })
const pipeline = (id: string): Target => ({ kind: 'pipeline', id })

t.test('the two-teams policy', async (t) => {
  const policy = new Policy(loadPolicyFile(TWO_TEAMS_POLICY_FILE))

  const alice = caller('alice', 'team-a')
  const amir = caller('amir', 'team-a', 'sales')
  const bob = caller('bob', 'team-b')
  const bea = caller('bea', 'team-b')
  const carol = caller('carol', 'team-a', 'team-b')
  const ci = caller('key:ci-nightly')
  const root = caller('root', 'admins')
  const iris = caller('iris', 'auditors')
  const zoe = caller('zoe', 'sales')

  const TEAM_A = 'rule "team-a works on its capsules"'
  const TEAM_B = 'rule "team-b works on the shared capsule and its pipeline"'
  const TEAM_B_DELETE = 'rule "team-b deletes only its own computations"'
  const CI = 'rule "the nightly CI key runs team-b\'s pipeline"'
  const ADMINS = 'rule "admins do everything"'
  const AUDITORS = 'rule "auditors read everything and change nothing"'

  t.test('runs and lists are decided on the capsule or pipeline named', async (t) => {
    const cases: Array<[string, Identity, TargetAction, Target, string | null]> = [
      ['team-a runs its own capsule', alice, 'run', capsule(TEAM_A_CAPSULE), TEAM_A],
      ['team-a runs the shared capsule', alice, 'run', capsule(SHARED_CAPSULE), TEAM_A],
      ['team-a runs any pipeline', alice, 'run', pipeline('pipeline-x'), TEAM_A],
      ['team-a lists its capsule', alice, 'list', capsule(TEAM_A_CAPSULE), TEAM_A],
      ['team-a may not run a capsule it is not given', alice, 'run', capsule('capsule-z'), null],
      ['team-b runs the shared capsule', bob, 'run', capsule(SHARED_CAPSULE), TEAM_B],
      ['team-b runs its pipeline', bob, 'run', pipeline(TEAM_B_PIPELINE), TEAM_B],
      ['team-b lists its pipeline', bob, 'list', pipeline(TEAM_B_PIPELINE), TEAM_B],
      ['team-b may not run team-a\'s capsule', bob, 'run', capsule(TEAM_A_CAPSULE), null],
      ['team-b is limited to its one pipeline', bob, 'run', pipeline('pipeline-x'), null],
      ['a member of both teams is granted by the first rule that covers the target', carol, 'run', pipeline(TEAM_B_PIPELINE), TEAM_A],
      ['the CI key runs team-b\'s pipeline', ci, 'run', pipeline(TEAM_B_PIPELINE), CI],
      ['the CI key may not list it', ci, 'list', pipeline(TEAM_B_PIPELINE), null],
      ['the CI key may not run the shared capsule', ci, 'run', capsule(SHARED_CAPSULE), null],
      ['an admin runs any capsule', root, 'run', capsule('capsule-z'), ADMINS],
      ['an admin lists any pipeline', root, 'list', pipeline('pipeline-x'), ADMINS],
      ['an auditor lists any capsule', iris, 'list', capsule(TEAM_A_CAPSULE), AUDITORS],
      ['an auditor runs nothing', iris, 'run', capsule(TEAM_A_CAPSULE), null],
      ['a caller in no team runs nothing', zoe, 'run', capsule(SHARED_CAPSULE), null]
    ]
    for (const [what, who, action, target, rule] of cases) {
      t.same(policy.onTarget(who, action, target), rule === null
        ? { allowed: false, reason: `no rule grants ${action} on ${target.kind} ${target.id}` }
        : { allowed: true, reason: `${action} granted by ${rule}` }, what)
    }
  })

  t.test('per-computation actions are decided on who started the computation and where', async (t) => {
    const aliceOnA = owner('alice', ['team-a'], capsule(TEAM_A_CAPSULE))
    const aliceOnShared = owner('alice', ['team-a'], capsule(SHARED_CAPSULE))
    const aliceOnPipelineX = owner('alice', ['team-a'], pipeline('pipeline-x'))
    const bobOnShared = owner('bob', ['team-b'], capsule(SHARED_CAPSULE))
    const bobOnPipelineB = owner('bob', ['team-b'], pipeline(TEAM_B_PIPELINE))
    const erinOnShared = owner('erin', ['team-b', 'sales'], capsule(SHARED_CAPSULE))
    const ciOnPipelineB = owner('key:ci-nightly', [], pipeline(TEAM_B_PIPELINE))

    const HIDDEN = 'owned by someone no rule lets the caller reach'
    const UNRECORDED = 'not started through the proxy, and no rule reaches it'
    type Outcome = { granted: string } | { refused: true } | { hidden: string }
    const cases: Array<[string, Identity, ComputationAction, OwnerRow | undefined, Outcome]> = [
      ['a member acts on her own computation', alice, 'read', aliceOnA, { granted: `${TEAM_A} (scope group)` }],
      ['a teammate reads it through the group', amir, 'read', aliceOnA, { granted: `${TEAM_A} (scope group)` }],
      ['a teammate deletes it through the group', amir, 'delete', aliceOnShared, { granted: `${TEAM_A} (scope group)` }],
      ['team-a reaches its computations of any pipeline', amir, 'attach', aliceOnPipelineX, { granted: `${TEAM_A} (scope group)` }],
      ['the other team does not see team-a\'s computation of team-a\'s capsule', bob, 'read', aliceOnA, { hidden: HIDDEN }],
      ['the other team does not see team-a\'s computation of the shared capsule', bob, 'read', aliceOnShared, { hidden: HIDDEN }],
      ['team-b does not see team-a\'s computation of a pipeline team-b may not run', bob, 'read', aliceOnPipelineX, { hidden: HIDDEN }],
      ['team-b reads a teammate\'s computation of the shared capsule', bea, 'read', bobOnShared, { granted: `${TEAM_B} (scope group)` }],
      ['team-b renames a teammate\'s computation of its pipeline', bea, 'rename', bobOnPipelineB, { granted: `${TEAM_B} (scope group)` }],
      ['team-b may not delete a teammate\'s computation, yet sees it', bea, 'delete', bobOnPipelineB, { refused: true }],
      ['team-b deletes its own computation', bob, 'delete', bobOnPipelineB, { granted: `${TEAM_B_DELETE} (scope own)` }],
      ['sharing a group the rule does not name does not share', amir, 'read', erinOnShared, { hidden: HIDDEN }],
      ['a member of both teams reads team-a\'s work through team-a', carol, 'read', aliceOnShared, { granted: `${TEAM_A} (scope group)` }],
      ['a member of both teams reads team-b\'s work through team-b', carol, 'read', bobOnShared, { granted: `${TEAM_B} (scope group)` }],
      ['a member of both teams may not delete team-b\'s work, which is not hers', carol, 'delete', bobOnShared, { refused: true }],
      ['the CI key reads what it started', ci, 'read', ciOnPipelineB, { granted: `${CI} (scope own)` }],
      ['the CI key may not delete what it started', ci, 'delete', ciOnPipelineB, { refused: true }],
      ['the CI key does not see team-b\'s computations', ci, 'read', bobOnPipelineB, { hidden: HIDDEN }],
      ['team-b does not see the CI key\'s computations, which belong to no group', bob, 'read', ciOnPipelineB, { hidden: HIDDEN }],
      ['an admin deletes anyone\'s computation', root, 'delete', bobOnPipelineB, { granted: `${ADMINS} (scope any)` }],
      ['an auditor reads anyone\'s computation', iris, 'read', bobOnShared, { granted: `${AUDITORS} (scope any)` }],
      ['an auditor may not rename one', iris, 'rename', bobOnShared, { refused: true }],
      ['a caller in no team sees nothing', zoe, 'read', aliceOnA, { hidden: HIDDEN }],
      ['an unrecorded computation is hidden from a team', alice, 'read', undefined, { hidden: UNRECORDED }],
      ['an auditor reads an unrecorded computation', iris, 'read', undefined, { granted: `${AUDITORS} (scope any)` }],
      ['an auditor sees but may not delete an unrecorded computation', iris, 'delete', undefined, { refused: true }],
      ['an admin deletes an unrecorded computation', root, 'delete', undefined, { granted: `${ADMINS} (scope any)` }]
    ]
    for (const [what, who, action, row, outcome] of cases) {
      const expected = 'granted' in outcome
        ? { visible: true, allowed: true, reason: `${action} granted by ${outcome.granted}` }
        : 'refused' in outcome
          ? { visible: true, allowed: false, reason: `no rule grants ${action} on this computation` }
          : { visible: false, allowed: false, reason: outcome.hidden }
      t.same(policy.onComputation(who, action, row), expected, what)
    }
  })

  t.test('an unrecorded computation listed under a team\'s capsule stays hidden from the team', async (t) => {
    t.same(policy.onComputation(alice, 'read', undefined, capsule(TEAM_A_CAPSULE)),
      { visible: false, allowed: false, reason: 'not started through the proxy, and no rule reaches it' })
  })

  t.test('only admins and auditors are decided without looking up an owner', async (t) => {
    t.same(policy.onAnyComputation(root, 'delete'), { visible: true, allowed: true, reason: `delete granted by ${ADMINS} (scope any)` })
    t.same(policy.onAnyComputation(iris, 'read'), { visible: true, allowed: true, reason: `read granted by ${AUDITORS} (scope any)` })
    t.equal(policy.onAnyComputation(iris, 'delete'), undefined, 'an auditor\'s delete needs the owner')
    t.equal(policy.onAnyComputation(alice, 'read'), undefined, 'a team member\'s read needs the owner')
  })

  t.test('only admins and auditors see every computation of a list unfiltered', async (t) => {
    const cases: Array<[string, Identity, Target, boolean]> = [
      ['an admin, a capsule', root, capsule(TEAM_A_CAPSULE), true],
      ['an auditor, a pipeline', iris, pipeline(TEAM_B_PIPELINE), true],
      ['team-a, its own capsule', alice, capsule(TEAM_A_CAPSULE), false],
      ['team-b, its pipeline', bob, pipeline(TEAM_B_PIPELINE), false],
      ['the CI key, its pipeline', ci, pipeline(TEAM_B_PIPELINE), false]
    ]
    for (const [what, who, target, expected] of cases) t.equal(policy.readsAllOf(who, target), expected, what)
  })

  t.test('only admins and auditors read the audit trail', async (t) => {
    t.same(policy.mayReadAudit(iris), { allowed: true, reason: `audit:read granted by ${AUDITORS}` })
    t.same(policy.mayReadAudit(root), { allowed: true, reason: `audit:read granted by ${ADMINS}` })
    for (const who of [alice, bob, carol, ci, zoe]) {
      t.same(policy.mayReadAudit(who), { allowed: false, reason: 'no rule grants audit:read' }, who.subject)
    }
  })
})

t.test('without a policy file anyone runs anything and acts on their own computations only', async (t) => {
  const policy = new Policy(DEFAULT_POLICY)
  const alice = caller('alice', 'team-a')
  const RULE = 'rule "default: run anything, act on your own computations"'
  t.same(policy.onTarget(alice, 'run', capsule('any-capsule')), { allowed: true, reason: `run granted by ${RULE}` })
  t.same(policy.onTarget(caller('bob'), 'list', pipeline('any-pipeline')), { allowed: true, reason: `list granted by ${RULE}` })
  for (const action of ['read', 'rename', 'delete', 'attach'] as const) {
    t.same(policy.onComputation(alice, action, owner('alice', [], capsule('c'))),
      { visible: true, allowed: true, reason: `${action} granted by ${RULE} (scope own)` }, `${action} on her own`)
  }
  t.equal(policy.onComputation(alice, 'read', owner('amir', ['team-a'], capsule('c'))).visible, false, 'a groupmate\'s is hidden')
  t.equal(policy.onComputation(alice, 'read', undefined).visible, false, 'an unrecorded one is hidden')
  t.equal(policy.onAnyComputation(alice, 'read'), undefined)
  t.equal(policy.readsAllOf(alice, capsule('any-capsule')), false)
  t.equal(policy.mayReadAudit(alice).allowed, false)
})

t.test('a rule applies to the callers its subjects or groups name', async (t) => {
  const policy = new Policy({
    rules: [
      { name: 'everyone', subjects: ['*'], actions: ['run'], capsules: ['for-everyone'] },
      { name: 'alice', subjects: ['alice'], actions: ['run'], capsules: ['for-alice'] },
      { name: 'staff', groups: ['staff'], actions: ['run'], capsules: ['for-staff'] },
      { name: 'alice or ops', subjects: ['alice'], groups: ['ops'], actions: ['run'], capsules: ['for-alice-or-ops'] }
    ]
  })
  const runs = (who: Identity, id: string): boolean => policy.onTarget(who, 'run', capsule(id)).allowed
  t.ok(runs(caller('anyone'), 'for-everyone'), '* is every caller')
  t.ok(runs(caller('alice'), 'for-alice'), 'a subject is that caller')
  t.notOk(runs(caller('bob'), 'for-alice'), 'and no one else')
  t.ok(runs(caller('bob', 'other', 'staff'), 'for-staff'), 'a group is each of its members')
  t.notOk(runs(caller('staff'), 'for-staff'), 'a subject named like a group is not a member of it')
  t.notOk(runs(caller('alice', 'Staff'), 'for-staff'), 'group names are case-sensitive')
  t.ok(runs(caller('alice'), 'for-alice-or-ops') && runs(caller('carl', 'ops'), 'for-alice-or-ops'), 'subjects and groups both apply')
  t.notOk(runs(caller('carl', 'dev'), 'for-alice-or-ops'), 'and only they')
})

t.test('a rule grants only the actions it lists, each separately', async (t) => {
  const policy = new Policy({ rules: [{ subjects: ['*'], actions: ['list', 'read'], capsules: ['*'], scope: 'any' }] })
  const alice = caller('alice')
  t.equal(policy.onTarget(alice, 'run', capsule('c')).allowed, false, 'list is not run')
  t.equal(policy.onTarget(alice, 'list', capsule('c')).allowed, true)
  const computation = owner('bob', [], capsule('c'))
  t.equal(policy.onComputation(alice, 'read', computation).allowed, true)
  t.same(policy.onComputation(alice, 'delete', computation), { visible: true, allowed: false, reason: 'no rule grants delete on this computation' })
  t.equal(policy.mayReadAudit(alice).allowed, false, 'no action implies audit:read but admin')
})

t.test('a rule reaches only the capsules and pipelines it lists, by kind', async (t) => {
  const policy = new Policy({ rules: [{ subjects: ['*'], actions: ['run'], capsules: ['x'], pipelines: ['y'] }] })
  const alice = caller('alice')
  t.equal(policy.onTarget(alice, 'run', capsule('x')).allowed, true)
  t.equal(policy.onTarget(alice, 'run', pipeline('y')).allowed, true)
  t.equal(policy.onTarget(alice, 'run', pipeline('x')).allowed, false, 'a capsule id does not cover a pipeline of the same id')
  t.equal(policy.onTarget(alice, 'run', capsule('y')).allowed, false, 'nor the reverse')
  const noTargets = new Policy({ rules: [{ subjects: ['*'], actions: ['run', 'read'] }] })
  t.equal(noTargets.onTarget(alice, 'run', capsule('x')).allowed, false, 'a rule listing no capsules or pipelines reaches none')
  t.equal(noTargets.onComputation(alice, 'read', owner('alice', [], capsule('x'))).visible, false, 'not even the caller\'s own computations')
})

t.test('the first rule that grants names itself, by name or by its position', async (t) => {
  const policy = new Policy({
    rules: [
      { subjects: ['bob'], actions: ['run'], capsules: ['*'] },
      { subjects: ['*'], actions: ['run'], capsules: ['c'] },
      { name: 'later', subjects: ['*'], actions: ['run', 'list'], capsules: ['*'] }
    ]
  })
  t.same(policy.onTarget(caller('alice'), 'run', capsule('c')), { allowed: true, reason: 'run granted by rule 2' })
  t.same(policy.onTarget(caller('bob'), 'run', capsule('c')), { allowed: true, reason: 'run granted by rule 1' })
  t.same(policy.onTarget(caller('alice'), 'run', capsule('d')), { allowed: true, reason: 'run granted by rule "later"' })
  t.same(policy.onTarget(caller('alice'), 'list', capsule('c')), { allowed: true, reason: 'list granted by rule "later"' })
})

t.test('admin grants every action with scope any on everything, whatever else the rule names', async (t) => {
  const policy = new Policy({ rules: [{ name: 'ops', groups: ['ops'], actions: ['admin'], capsules: ['only-this'], pipelines: [], scope: 'own' }] })
  const op = caller('olga', 'ops')
  for (const action of ['run', 'list'] as const) {
    t.same(policy.onTarget(op, action, pipeline('elsewhere')), { allowed: true, reason: `${action} granted by rule "ops"` })
  }
  for (const action of ['read', 'rename', 'delete', 'attach'] as const) {
    t.same(policy.onComputation(op, action, owner('stranger', [], capsule('elsewhere'))),
      { visible: true, allowed: true, reason: `${action} granted by rule "ops" (scope any)` })
    t.same(policy.onAnyComputation(op, action), { visible: true, allowed: true, reason: `${action} granted by rule "ops" (scope any)` })
  }
  t.equal(policy.onComputation(op, 'delete', undefined).allowed, true, 'unrecorded computations too')
  t.equal(policy.readsAllOf(op, capsule('elsewhere')), true)
  t.same(policy.mayReadAudit(op), { allowed: true, reason: 'audit:read granted by rule "ops"' })
  t.equal(policy.onTarget(caller('olga'), 'run', capsule('only-this')).allowed, false, 'and only for the callers it names')
})

t.test('scope own reaches only the caller\'s computations, and is the default', async (t) => {
  const explicit = new Policy({ rules: [{ subjects: ['*'], actions: ['read'], capsules: ['*'], scope: 'own' }] })
  const implicit = new Policy({ rules: [{ subjects: ['*'], actions: ['read'], capsules: ['*'] }] })
  const alice = caller('alice', 'team')
  for (const policy of [explicit, implicit]) {
    t.same(policy.onComputation(alice, 'read', owner('alice', [], capsule('c'))), { visible: true, allowed: true, reason: 'read granted by rule 1 (scope own)' })
    t.equal(policy.onComputation(alice, 'read', owner('amir', ['team'], capsule('c'))).visible, false, 'not a groupmate\'s')
  }
})

t.test('scope own tells a key from a person by the whole subject; an owner recorded before the namespace is the key\'s too', async (t) => {
  const policy = new Policy({ rules: [{ subjects: ['*'], actions: ['read'], capsules: ['*'] }] })
  const key: Identity = { subject: 'key:ci', email: null, groups: [], method: 'service-key', keyId: 'k' }
  const person: Identity = { subject: 'ci', email: null, groups: [], method: 'trusted-header', keyId: null }
  const recorded = owner('ci', [], capsule('c'))
  t.equal(policy.onComputation(key, 'read', recorded).allowed, false, 'a key is not the person of its bare subject')
  t.equal(policy.onComputation(person, 'read', owner('key:ci', [], capsule('c'))).allowed, false, 'nor the person the key')
  const legacy = { ...recorded, namespaced: false }
  t.equal(policy.onComputation(key, 'read', legacy).allowed, true, 'recorded before the namespace: the key that started it still owns it')
  t.equal(policy.onComputation(person, 'read', legacy).allowed, true, 'and so, as then, does the person of that subject')
  t.equal(policy.onComputation({ ...person, subject: 'key:ci' }, 'read', legacy).allowed, false, 'only a key is read back into its namespace')
  t.equal(policy.onComputation({ ...key, subject: 'key:other' }, 'read', legacy).allowed, false, 'and only the key of that subject')
})

t.test('scope own and group still need the rule to cover the computation\'s capsule or pipeline', async (t) => {
  const policy = new Policy({ rules: [{ subjects: ['*'], actions: ['read'], capsules: ['c'], scope: 'group' }] })
  const alice = caller('alice', 'team')
  t.equal(policy.onComputation(alice, 'read', owner('alice', ['team'], capsule('c'))).allowed, true)
  t.same(policy.onComputation(alice, 'read', owner('alice', ['team'], capsule('d'))),
    { visible: false, allowed: false, reason: 'owned by someone no rule lets the caller reach' }, 'her own, on a capsule not covered')
  t.equal(policy.onComputation(alice, 'read', owner('alice', ['team'], pipeline('c'))).visible, false, 'a pipeline named like a covered capsule')
})

t.test('scope group shares through any group when the rule names only subjects', async (t) => {
  const policy = new Policy({ rules: [{ subjects: ['alice'], actions: ['read'], capsules: ['*'], scope: 'group' }] })
  const alice = caller('alice', 'red', 'blue')
  t.same(policy.onComputation(alice, 'read', owner('amir', ['blue'], capsule('c'))), { visible: true, allowed: true, reason: 'read granted by rule 1 (scope group)' })
  t.equal(policy.onComputation(alice, 'read', owner('amir', ['green'], capsule('c'))).visible, false, 'no shared group, no sharing')
  t.equal(policy.onComputation(alice, 'read', owner('bob', [], capsule('c'))).visible, false, 'an owner in no group shares with no one')
  t.equal(policy.onComputation(caller('alice'), 'read', owner('alice', [], capsule('c'))).allowed, true, 'her own, with no groups at all')
})

t.test('a group rule shares only through the groups it names', async (t) => {
  const policy = new Policy({ rules: [{ groups: ['red'], actions: ['read'], capsules: ['*'], scope: 'group' }] })
  const alice = caller('alice', 'red', 'blue')
  t.equal(policy.onComputation(alice, 'read', owner('amir', ['red'], capsule('c'))).allowed, true, 'through red')
  t.equal(policy.onComputation(alice, 'read', owner('amir', ['blue'], capsule('c'))).visible, false, 'not through blue, which the rule does not name')
  t.equal(policy.onComputation(caller('bob', 'blue'), 'read', owner('amir', ['red'], capsule('c'))).visible, false, 'nor for a caller the rule does not apply to')
})

t.test('an owner\'s groups are the ones recorded when the computation started', async (t) => {
  const policy = new Policy({ rules: [{ groups: ['red'], actions: ['read'], capsules: ['*'], scope: 'group' }] })
  t.equal(policy.onComputation(caller('alice', 'red'), 'read', owner('amir', [], capsule('c'))).visible, false,
    'an owner recorded without red is not shared through red, whatever his groups are now')
})

t.test('scope any reaches anyone\'s computation on the targets the rule covers', async (t) => {
  const policy = new Policy({ rules: [{ subjects: ['*'], actions: ['read'], pipelines: ['p'], scope: 'any' }] })
  const alice = caller('alice')
  t.same(policy.onComputation(alice, 'read', owner('stranger', [], pipeline('p'))), { visible: true, allowed: true, reason: 'read granted by rule 1 (scope any)' })
  t.equal(policy.onComputation(alice, 'read', owner('stranger', [], pipeline('q'))).visible, false)
  t.equal(policy.onComputation(alice, 'read', owner('alice', [], pipeline('q'))).visible, false, 'not even her own on another pipeline')
})

t.test('a computation is visible when any per-computation action reaches it', async (t) => {
  const policy = new Policy({
    rules: [
      { subjects: ['*'], actions: ['attach'], capsules: ['c'], scope: 'any' },
      { subjects: ['*'], actions: ['run', 'list'], capsules: ['*'], scope: 'any' }
    ]
  })
  const alice = caller('alice')
  t.same(policy.onComputation(alice, 'read', owner('bob', [], capsule('c'))), { visible: true, allowed: false, reason: 'no rule grants read on this computation' })
  t.equal(policy.onComputation(alice, 'read', owner('bob', [], capsule('d'))).visible, false, 'run and list reach no computation')
})

t.test('an unrecorded computation is reached only by scope any on every capsule and every pipeline', async (t) => {
  const cases: Array<[string, PolicyDocument['rules'][number], boolean]> = [
    ['any on * and *', { subjects: ['*'], actions: ['read'], capsules: ['*'], pipelines: ['*'], scope: 'any' }, true],
    ['any on * capsules only', { subjects: ['*'], actions: ['read'], capsules: ['*'], scope: 'any' }, false],
    ['any on * pipelines only', { subjects: ['*'], actions: ['read'], pipelines: ['*'], scope: 'any' }, false],
    ['any on * capsules and some pipelines', { subjects: ['*'], actions: ['read'], capsules: ['*'], pipelines: ['p'], scope: 'any' }, false],
    ['group on * and *', { subjects: ['*'], actions: ['read'], capsules: ['*'], pipelines: ['*'], scope: 'group' }, false],
    ['own on * and *', { subjects: ['*'], actions: ['read'], capsules: ['*'], pipelines: ['*'], scope: 'own' }, false]
  ]
  for (const [what, rule, reached] of cases) {
    const policy = new Policy({ rules: [rule] })
    t.same(policy.onComputation(caller('alice'), 'read', undefined), reached
      ? { visible: true, allowed: true, reason: 'read granted by rule 1 (scope any)' }
      : { visible: false, allowed: false, reason: 'not started through the proxy, and no rule reaches it' }, what)
  }
})

t.test('an unrecorded computation listed under a target is reached by scope any covering that target', async (t) => {
  const policy = new Policy({
    rules: [
      { name: 'any on c', subjects: ['*'], actions: ['read'], capsules: ['c'], scope: 'any' },
      { name: 'group on everything', subjects: ['*'], actions: ['read'], capsules: ['*'], pipelines: ['*'], scope: 'group' }
    ]
  })
  const alice = caller('alice')
  t.same(policy.onComputation(alice, 'read', undefined, capsule('c')), { visible: true, allowed: true, reason: 'read granted by rule "any on c" (scope any)' })
  t.equal(policy.onComputation(alice, 'read', undefined, capsule('d')).visible, false, 'a capsule the scope any rule does not cover')
  t.equal(policy.onComputation(alice, 'read', undefined, pipeline('c')).visible, false, 'a pipeline named like the covered capsule')
  t.equal(policy.onComputation(alice, 'read', undefined).visible, false, 'the same computation asked for by id, with no list to stand in')
})

t.test('listedUnder is ignored for a recorded computation: its own target decides', async (t) => {
  const policy = new Policy({ rules: [{ subjects: ['*'], actions: ['read'], capsules: ['c'], scope: 'any' }] })
  t.equal(policy.onComputation(caller('alice'), 'read', owner('bob', [], capsule('d')), capsule('c')).visible, false)
  t.equal(policy.onComputation(caller('alice'), 'read', owner('bob', [], capsule('c')), capsule('d')).allowed, true)
})

t.test('onAnyComputation needs scope any on every capsule and every pipeline for that action', async (t) => {
  const cases: Array<[string, PolicyDocument['rules'][number], boolean]> = [
    ['any on * and *', { subjects: ['*'], actions: ['read'], capsules: ['*'], pipelines: ['*'], scope: 'any' }, true],
    ['any on * capsules only', { subjects: ['*'], actions: ['read'], capsules: ['*'], scope: 'any' }, false],
    ['any on * pipelines only', { subjects: ['*'], actions: ['read'], pipelines: ['*'], scope: 'any' }, false],
    ['group on * and *', { subjects: ['*'], actions: ['read'], capsules: ['*'], pipelines: ['*'], scope: 'group' }, false],
    ['any on * and *, another action', { subjects: ['*'], actions: ['rename'], capsules: ['*'], pipelines: ['*'], scope: 'any' }, false]
  ]
  for (const [what, rule, decided] of cases) {
    const decision = new Policy({ rules: [rule] }).onAnyComputation(caller('alice'), 'read')
    t.same(decision, decided ? { visible: true, allowed: true, reason: 'read granted by rule 1 (scope any)' } : undefined, what)
  }
})

t.test('readsAllOf needs read with scope any covering the target', async (t) => {
  const policy = new Policy({
    rules: [
      { subjects: ['*'], actions: ['delete'], capsules: ['c'], scope: 'any' },
      { subjects: ['*'], actions: ['read'], capsules: ['E'], scope: 'any' },
      { subjects: ['*'], actions: ['read'], capsules: ['*'], pipelines: ['*'], scope: 'group' },
      { subjects: ['*'], actions: ['run', 'list'], pipelines: ['*'], scope: 'any' }
    ]
  })
  const alice = caller('alice')
  t.equal(policy.readsAllOf(alice, capsule('c')), false, 'delete alone does not let a list show whole computations')
  t.equal(policy.readsAllOf(alice, capsule('e')), true, 'read with scope any does, the policy ids compared in lower case')
  t.equal(policy.readsAllOf(alice, capsule('d')), false, 'scope group is not enough')
  t.equal(policy.readsAllOf(alice, pipeline('p')), false, 'run and list with scope any are not enough')
})

t.test('the audit admin key may read the audit trail and nothing else, whatever the rules grant every subject', async (t) => {
  const admin: Identity = { subject: 'audit admin key', email: null, groups: [], method: 'admin-key', keyId: null }
  const everything = new Policy({ rules: [{ subjects: ['*', 'audit admin key'], actions: ['admin'] }] })
  t.same(everything.mayReadAudit(admin), { allowed: true, reason: 'audit admin key' })
  const capsule: Target = { kind: 'capsule', id: TEAM_A_CAPSULE }
  for (const action of ['run', 'list'] as const) t.equal(everything.onTarget(admin, action, capsule).allowed, false, action)
  for (const action of ['read', 'rename', 'delete', 'attach'] as const) {
    t.match(everything.onComputation(admin, action, owner('audit admin key', [], capsule)), { allowed: false, visible: false }, action)
    t.equal(everything.onAnyComputation(admin, action), undefined, `${action}, on any computation`)
  }
  t.equal(everything.readsAllOf(admin, capsule), false)
  t.equal(new Policy({ rules: [] }).mayReadAudit(admin).allowed, true, 'even with no rule at all')
})
