// Which data assets a caller may mount: a rule's data_assets, on the same rule that grants the
// run (on its capsule or pipeline) or the attach (on the computation); none unless named, all
// for admin and for the built-in default policy; ids are UUIDs, compared in lower case.
import t from 'tap'
import { ConfigError } from '../../src/errors.js'
import type { Identity } from '../../src/identity/identity.js'
import { checkPolicy } from '../../src/policy/policy-file.js'
import { DEFAULT_POLICY, Policy } from '../../src/policy/policy.js'
import type { OwnerRow } from '../../src/store/store.js'

const ALICE: Identity = { subject: 'alice', email: null, groups: ['team-a'], method: 'trusted-header', keyId: null }
const ADMIN: Identity = { subject: 'root', email: null, groups: ['admins'], method: 'trusted-header', keyId: null }
const CAPSULE_A = '0b6d3c1e-2f4a-4b5c-8d6e-7f8091a2b3c4'
const CAPSULE_B = '1c7e4d2f-3a5b-4c6d-9e7f-8091a2b3c4d5'
const GENOME = '44ec16c3-cb5a-45f5-93d1-cba8be800c24'
const SECRET = '55fd27d4-dc6b-46a6-a4e2-dcb9cf911d35'

const policy = new Policy(checkPolicy({
  rules: [
    { name: 'team-a runs', groups: ['team-a'], actions: ['run', 'attach'], capsules: [CAPSULE_A], data_assets: [GENOME.toUpperCase()] },
    { name: 'team-a elsewhere', groups: ['team-a'], actions: ['run'], capsules: [CAPSULE_B] },
    { name: 'admins', groups: ['admins'], actions: ['admin'] }
  ]
}, 'test'))
const owned = (subject: string, capsuleId: string): OwnerRow => ({ computationId: 'c', subject, groups: [], capsuleId, pipelineId: null, createdAt: '2026-12-06T00:00:00.000Z', namespaced: true })

t.test('a run mounts a data asset only under a rule that grants the run on its target and names the asset', async (t) => {
  t.match(policy.mayMountOnRun(ALICE, { kind: 'capsule', id: CAPSULE_A }, [GENOME]), { allowed: true, reason: 'mounting 1 data asset granted by rule "team-a runs"' })
  t.match(policy.mayMountOnRun(ALICE, { kind: 'capsule', id: CAPSULE_A }, [GENOME, SECRET]), { allowed: false, refused: SECRET, reason: `no rule grants mounting data asset ${SECRET} with run` })
  t.match(policy.mayMountOnRun(ALICE, { kind: 'capsule', id: CAPSULE_B }, [GENOME]), { allowed: false, refused: GENOME }, 'the rule for capsule B names no data asset')
})

t.test('an attach mounts a data asset only under a rule that reaches the computation and names the asset', async (t) => {
  t.equal(policy.mayMountOnComputation(ALICE, owned('alice', CAPSULE_A), [GENOME]).allowed, true)
  t.equal(policy.mayMountOnComputation(ALICE, owned('bob', CAPSULE_A), [GENOME]).allowed, false, 'not her computation')
  t.equal(policy.mayMountOnComputation(ALICE, owned('alice', CAPSULE_A), [SECRET]).allowed, false, 'not her data asset')
})

t.test('admin mounts every data asset, and so does every caller under the built-in default policy', async (t) => {
  t.match(policy.mayMountOnRun(ADMIN, { kind: 'capsule', id: CAPSULE_B }, [SECRET, GENOME]), { allowed: true, reason: 'mounting 2 data assets granted by rule "admins"' })
  t.equal(policy.mayMountOnComputation(ADMIN, undefined, [SECRET]).allowed, true)
  const everyone = new Policy(DEFAULT_POLICY)
  t.equal(everyone.mayMountOnRun(ALICE, { kind: 'pipeline', id: CAPSULE_B }, [SECRET]).allowed, true)
  t.equal(everyone.mayMountOnComputation(ALICE, owned('alice', CAPSULE_B), [SECRET]).allowed, true)
})

t.test('data_assets holds UUIDs or "*", and an admin rule names none', async (t) => {
  t.throws(() => checkPolicy({ rules: [{ subjects: ['*'], actions: ['run'], capsules: ['*'], data_assets: ['genome'] }] }, 'here'),
    new ConfigError(['here: /rules/0 has "genome" in data_assets: data asset ids are UUIDs (e.g. 5f5c3c4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f), so it could never match a call; use the data asset\'s id, or "*" for all']))
  t.throws(() => checkPolicy({ rules: [{ subjects: ['*'], actions: ['admin'], data_assets: ['*'] }] }, 'here'),
    new ConfigError(['here: /rules/0 grants admin, which mounts every data asset: drop its data_assets, or grant other actions']))
})
