// The edges of reading a policy: which parser a file name picks, what a parse error says, the
// rules that parse but would not do what they seem to, and how visibility is decided when a
// caller may do one thing to a computation but not another.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { ConfigError } from '../../src/errors.js'
import type { Identity } from '../../src/identity/identity.js'
import { checkPolicy, loadPolicyFile } from '../../src/policy/policy-file.js'
import { Policy } from '../../src/policy/policy.js'
import { runTargetOf } from '../../src/policy/targets.js'

const CAPSULE = '0b6d3c1e-2f4a-4b5c-8d6e-7f8091a2b3c4'

async function policyFile (t: Test, name: string, text: string): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'codeocean-proxy-policy-rules-'))
  t.teardown(() => rm(directory, { recursive: true, force: true }))
  const path = join(directory, name)
  await writeFile(path, text)
  return path
}

function refused (t: Test, load: () => unknown, problem: RegExp, what: string): void {
  t.throws(load, ConfigError, what)
  try {
    load()
  } catch (error) {
    t.match((error as ConfigError).message, problem, what)
  }
}

t.test('only a name that ends in .json is read as JSON: policy.json.yaml is YAML', async (t) => {
  const path = await policyFile(t, 'policy.json.yaml', `rules:\n  - name: everyone\n    subjects: ['*']\n    actions: [run]\n    capsules: ['${CAPSULE}']\n`)
  t.same(loadPolicyFile(path).rules.map((rule) => rule.name), ['everyone'])
  const broken = await policyFile(t, 'broken.json.yaml', 'rules: [unclosed\n')
  refused(t, () => loadPolicyFile(broken), /is not valid YAML/, 'and its parse errors say YAML')
})

t.test('a parse error names where, in one line, without an excerpt of the file', async (t) => {
  const path = await policyFile(t, 'broken.yaml', 'rules:\n  - name: a\n    subjects: [alice\n    actions: [run]\n')
  t.throws(() => loadPolicyFile(path), ConfigError)
  try {
    loadPolicyFile(path)
  } catch (error) {
    const { message } = error as ConfigError
    t.notMatch(message, /\n/, 'one line')
    t.match(message, /at line \d+, column \d+:$/, 'ends where the parser says the problem is')
  }
})

t.test('a rule that names one subject and one group is fine', async (t) => {
  const policy = checkPolicy({ rules: [{ name: 'pair', subjects: ['alice'], groups: ['team-a'], actions: ['run'], capsules: ['*'] }] }, 'test')
  t.equal(policy.rules.length, 1)
})

t.test('more than 10,000 names in one list is refused', async (t) => {
  const subjects = Array.from({ length: 10_001 }, (_, index) => `user-${index}`)
  refused(t, () => checkPolicy({ rules: [{ name: 'many', subjects, actions: ['run'], capsules: ['*'] }] }, 'test'), /subjects/, '10,001 subjects')
  t.equal(checkPolicy({ rules: [{ name: 'many', subjects: subjects.slice(1), actions: ['run'], capsules: ['*'] }] }, 'test').rules.length, 1, '10,000 are fine')
})

t.test('an admin rule may not narrow itself to pipelines (or capsules, or a scope)', async (t) => {
  refused(t, () => checkPolicy({ rules: [{ name: 'admins', subjects: ['root'], actions: ['admin'], pipelines: ['*'] }] }, 'test'), /grants admin/, 'pipelines')
  refused(t, () => checkPolicy({ rules: [{ name: 'admins', subjects: ['root'], actions: ['admin'], capsules: ['*'] }] }, 'test'), /grants admin/, 'capsules')
  refused(t, () => checkPolicy({ rules: [{ name: 'admins', subjects: ['root'], actions: ['admin'], scope: 'any' }] }, 'test'), /grants admin/, 'scope')
})

t.test('audit:read needs no capsules, but a rule that also grants another action does', async (t) => {
  t.equal(checkPolicy({ rules: [{ name: 'auditors', subjects: ['eve'], actions: ['audit:read'] }] }, 'test').rules.length, 1)
  refused(t, () => checkPolicy({ rules: [{ name: 'mixed', subjects: ['eve'], actions: ['audit:read', 'run'] }] }, 'test'),
    /names no capsules or pipelines/, 'audit:read and run, with no capsules')
})

t.test('a caller granted only rename on a computation sees it: a delete is 403, not 404', async (t) => {
  const policy = new Policy({ rules: [{ name: 'renamers', subjects: ['bob'], actions: ['rename'], capsules: ['*'], pipelines: ['*'], scope: 'any' }] })
  const bob: Identity = { subject: 'bob', email: null, groups: [], method: 'service-key', keyId: 'k' }
  const owner = { computationId: 'c', subject: 'alice', groups: [], capsuleId: CAPSULE, pipelineId: null, createdAt: new Date().toISOString(), namespaced: true }
  t.match(policy.onComputation(bob, 'rename', owner), { visible: true, allowed: true })
  t.match(policy.onComputation(bob, 'delete', owner), { visible: true, allowed: false })
  t.match(policy.onComputation(bob, 'read', owner), { visible: true, allowed: false })
})

t.test('a run that names both or neither of capsule_id and pipeline_id is told which', async (t) => {
  t.throws(() => runTargetOf({ capsule_id: CAPSULE, pipeline_id: CAPSULE }), { message: 'body sets both capsule_id and pipeline_id: set exactly one' })
  t.throws(() => runTargetOf({}), { message: 'body must set capsule_id (to run a capsule) or pipeline_id (to run a pipeline)' })
})
