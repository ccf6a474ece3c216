// Loading the policy file: JSON or YAML by extension, and a file that does not match the schema
// stops start-up with every problem named (ConfigError), never a half-understood policy.
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { ConfigError } from '../../src/errors.js'
import { checkPolicy, loadPolicyFile, type PolicyDocument } from '../../src/policy/policy-file.js'

const TWO_TEAMS_POLICY_FILE = fileURLToPath(new URL('../fixtures/two-teams-policy.yaml', import.meta.url))

/** A fresh folder for the test, removed after it. */
async function folder (t: Test): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'codeocean-proxy-policy-'))
  t.teardown(() => rm(directory, { recursive: true, force: true }))
  return directory
}

/** Writes `text` to `name` in a fresh folder and returns its path. */
async function policyFile (t: Test, name: string, text: string): Promise<string> {
  const path = join(await folder(t), name)
  await writeFile(path, text)
  return path
}

/** The problems of the ConfigError `load` throws. */
function problemsOf (t: Test, load: () => unknown): string[] {
  try {
    load()
  } catch (error) {
    t.type(error, ConfigError)
    return (error as ConfigError).problems
  }
  t.fail('expected a ConfigError')
  return []
}

const CAPSULE = '3f1e5c2a-7b4d-4e8f-9a0b-1c2d3e4f5a6b'
const PIPELINE = '9c8b7a6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d'

const RULES: PolicyDocument = {
  rules: [
    { name: 'everyone runs', subjects: ['*'], actions: ['run', 'list'], capsules: ['*'], pipelines: ['*'] },
    { groups: ['auditors'], actions: ['audit:read', 'read'], capsules: ['*'], pipelines: ['*'], scope: 'any' }
  ]
}

t.test('a .json file is read as JSON', async (t) => {
  const path = await policyFile(t, 'policy.json', JSON.stringify(RULES))
  t.same(loadPolicyFile(path), RULES)
})

t.test('the .json extension is matched whatever its case', async (t) => {
  const path = await policyFile(t, 'POLICY.JSON', JSON.stringify(RULES))
  t.same(loadPolicyFile(path), RULES)
})

t.test('any other extension is read as YAML', async (t) => {
  const yaml = [
    'rules:',
    '  - name: everyone runs',
    "    subjects: ['*']",
    '    actions: [run, list]',
    "    capsules: ['*']",
    "    pipelines: ['*']",
    '  - groups: [auditors]',
    '    actions: [audit:read, read]',
    "    capsules: ['*']",
    "    pipelines: ['*']",
    '    scope: any',
    ''
  ].join('\n')
  for (const name of ['policy.yaml', 'policy.yml', 'policy']) {
    t.same(loadPolicyFile(await policyFile(t, name, yaml)), RULES, name)
  }
})

t.test('the two-teams example loads', async (t) => {
  const policy = loadPolicyFile(TWO_TEAMS_POLICY_FILE)
  t.equal(policy.rules.length, 6)
  t.same(policy.rules.map((rule) => rule.name), [
    'team-a works on its capsules',
    'team-b works on the shared capsule and its pipeline',
    'team-b deletes only its own computations',
    'the nightly CI key runs team-b\'s pipeline',
    'admins do everything',
    'auditors read everything and change nothing'
  ])
})

t.test('a missing file is a ConfigError naming the file and the reason', async (t) => {
  const path = join(await folder(t), 'absent.yaml')
  t.same(problemsOf(t, () => loadPolicyFile(path)), [`POLICY_FILE ${path} cannot be read: ENOENT`])
})

t.test('a folder given as the file is a ConfigError', async (t) => {
  const path = await folder(t)
  t.same(problemsOf(t, () => loadPolicyFile(path)), [`POLICY_FILE ${path} cannot be read: EISDIR`])
})

t.test('an unreadable file is a ConfigError', { skip: process.getuid?.() === 0 ? 'root reads any file' : false }, async (t) => {
  const path = await policyFile(t, 'policy.yaml', 'rules: []')
  await chmod(path, 0o000)
  t.same(problemsOf(t, () => loadPolicyFile(path)), [`POLICY_FILE ${path} cannot be read: EACCES`])
})

t.test('invalid JSON is a ConfigError saying so, with the parser\'s message', async (t) => {
  const path = await policyFile(t, 'policy.json', '{"rules": [')
  const [problem, ...rest] = problemsOf(t, () => loadPolicyFile(path))
  t.match(problem, new RegExp(`^POLICY_FILE ${path} is not valid JSON: \\S`))
  t.same(rest, [])
})

t.test('invalid YAML is a ConfigError with only the first line of the parser\'s message', async (t) => {
  const path = await policyFile(t, 'policy.yaml', 'rules: [a\n')
  const [problem, ...rest] = problemsOf(t, () => loadPolicyFile(path))
  t.match(problem, new RegExp(`^POLICY_FILE ${path} is not valid YAML: \\S`))
  t.notMatch(problem, /\n/, 'the parser\'s code frame is left out')
  t.same(rest, [])
})

t.test('an unquoted * in YAML is refused as invalid YAML, not read as "everyone"', async (t) => {
  const path = await policyFile(t, 'policy.yaml', 'rules:\n  - subjects: [*]\n    actions: [run]\n')
  t.match(problemsOf(t, () => loadPolicyFile(path)), [/is not valid YAML/])
})

t.test('an empty YAML file is a ConfigError about the document', async (t) => {
  const path = await policyFile(t, 'policy.yaml', '')
  t.same(problemsOf(t, () => loadPolicyFile(path)), [`POLICY_FILE ${path}: the document expected object`])
})

t.test('schema problems name the file and the path of each', async (t) => {
  const path = await policyFile(t, 'policy.json', JSON.stringify({ rules: [{ subjects: ['*'], actions: ['fly'] }] }))
  t.same(problemsOf(t, () => loadPolicyFile(path)), [`POLICY_FILE ${path}: /rules/0/actions/0 must be one of run, read, rename, delete, attach, list, audit:read, admin`])
})

t.test('checkPolicy returns a valid document as it is', async (t) => {
  t.equal(checkPolicy(RULES, 'here'), RULES)
})

t.test('checkPolicy names each problem with where it was found', async (t) => {
  const cases: Array<[string, unknown, string[]]> = [
    ['not an object', [], ['here: the document expected object']],
    ['null', null, ['here: the document expected object']],
    ['no rules', {}, ['here: /rules expected required property', 'here: /rules expected array']],
    ['no rule', { rules: [] }, ['here: /rules expected array length to be greater or equal to 1']],
    ['an unknown top-level field', { rules: [{ subjects: ['*'], actions: ['run'], capsules: ['*'] }], version: 2 }, ['here: /version unexpected property']],
    ['an unknown rule field', { rules: [{ subjects: ['*'], actions: ['run'], capsule: ['c'] }] }, ['here: /rules/0/capsule unexpected property']],
    ['an unknown action', { rules: [{ subjects: ['*'], actions: ['run', 'fly'] }] },
      ['here: /rules/0/actions/1 must be one of run, read, rename, delete, attach, list, audit:read, admin']],
    ['an unknown scope', { rules: [{ subjects: ['*'], actions: ['read'], scope: 'all' }] }, ['here: /rules/0/scope must be one of own, group, any']],
    ['no actions', { rules: [{ subjects: ['*'], actions: [] }] }, ['here: /rules/0/actions expected array length to be greater or equal to 1']],
    ['actions not a list', { rules: [{ subjects: ['*'], actions: 'run' }] }, ['here: /rules/0/actions expected array']],
    ['an empty name', { rules: [{ name: '', subjects: ['*'], actions: ['run'] }] }, ['here: /rules/0/name expected string length greater or equal to 1']],
    ['an empty subject', { rules: [{ subjects: [''], actions: ['run'] }] }, ['here: /rules/0/subjects/0 expected string length greater or equal to 1']],
    ['a number for a capsule id', { rules: [{ subjects: ['*'], actions: ['run'], capsules: [42] }] }, ['here: /rules/0/capsules/0 expected string']],
    ['a group name over 256 characters', { rules: [{ groups: ['g'.repeat(257)], actions: ['run'] }] }, ['here: /rules/0/groups/0 expected string length less or equal to 256']]
  ]
  for (const [what, document, problems] of cases) t.same(problemsOf(t, () => checkPolicy(document, 'here')), problems, what)
})

t.test('checkPolicy reports at most 20 schema problems', async (t) => {
  const rules = Array.from({ length: 30 }, () => ({ subjects: ['*'], actions: ['fly'] }))
  const problems = problemsOf(t, () => checkPolicy({ rules }, 'here'))
  t.equal(problems.length, 20)
  t.equal(problems[19], 'here: /rules/19/actions/0 must be one of run, read, rename, delete, attach, list, audit:read, admin')
})

t.test('a rule naming no subjects and no groups is refused, as it would grant nothing', async (t) => {
  const problems = problemsOf(t, () => checkPolicy({
    rules: [
      { subjects: ['*'], actions: ['run'], capsules: ['*'] },
      { actions: ['run'], capsules: ['*'] },
      { subjects: [], groups: [], actions: ['admin'] }
    ]
  }, 'here'))
  t.same(problems, [
    'here: /rules/1 names no subjects or groups, so it grants nothing (use subjects: ["*"] for everyone)',
    'here: /rules/2 names no subjects or groups, so it grants nothing (use subjects: ["*"] for everyone)'
  ])
})

t.test('a rule naming only groups, or only subjects, is accepted', async (t) => {
  t.doesNotThrow(() => checkPolicy({ rules: [{ groups: ['g'], actions: ['run'], pipelines: [PIPELINE] }, { subjects: ['s'], actions: ['run'], capsules: [CAPSULE] }] }, 'here'))
})

t.test('rules that would not do what they seem to say are refused, each named', async (t) => {
  const problems = problemsOf(t, () => checkPolicy({
    rules: [
      { groups: ['ops'], actions: ['admin'], capsules: [CAPSULE] },
      { groups: ['ops'], actions: ['admin'], scope: 'own' },
      { groups: ['team'], actions: ['run', 'read'] },
      { groups: ['*'], actions: ['read'], capsules: ['*'] },
      { groups: ['auditors'], actions: ['audit:read'] },
      { groups: ['root'], actions: ['admin'] }
    ]
  }, 'here'))
  t.same(problems, [
    'here: /rules/0 grants admin, which reaches every capsule and pipeline with scope any: drop its capsules, pipelines and scope, or grant other actions',
    'here: /rules/1 grants admin, which reaches every capsule and pipeline with scope any: drop its capsules, pipelines and scope, or grant other actions',
    'here: /rules/2 names no capsules or pipelines, so its actions reach nothing (use capsules: ["*"] for all)',
    'here: /rules/3 has "*" in groups: it is a wildcard only in subjects'
  ], 'audit:read alone needs no capsules, and a bare admin rule is fine')
})


t.test('a capsule or pipeline id that is not a UUID is refused, as it could never match a call', async (t) => {
  const problems = problemsOf(t, () => checkPolicy({
    rules: [
      { name: 'team-a', groups: ['team-a'], actions: ['run'], capsules: ['capsule-a', CAPSULE, 'shared capsule'], pipelines: ['pipeline-b'] },
      { groups: ['team-b'], actions: ['run'], capsules: ['*', CAPSULE.toUpperCase()], pipelines: [`${PIPELINE}x`] }
    ]
  }, 'here'))
  t.same(problems, [
    'here: rule "team-a" (/rules/0) has "capsule-a", "shared capsule" in capsules: capsule ids are UUIDs (e.g. 5f5c3c4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f), so it could never match a call; use the capsule\'s id, or "*" for all',
    'here: rule "team-a" (/rules/0) has "pipeline-b" in pipelines: pipeline ids are UUIDs (e.g. 5f5c3c4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f), so it could never match a call; use the pipeline\'s id, or "*" for all',
    `here: /rules/1 has "${PIPELINE}x" in pipelines: pipeline ids are UUIDs (e.g. 5f5c3c4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f), so it could never match a call; use the pipeline's id, or "*" for all`
  ], 'a UUID in capitals is one (ids are compared in lower case), and "*" is all')
})

t.test('every problem of a file is named at once, a rule by its name as well as its place', async (t) => {
  const path = await policyFile(t, 'policy.yaml', [
    'rules:',
    '  - name: team-a runs its capsule',
    '    groups: [team-a]',
    '    actions: [run, fly]',
    `    capsules: [${CAPSULE}]`,
    '  - name: team-b runs by name',
    '    groups: [team-b]',
    '    actions: [run]',
    '    capsules: [team-b-capsule]',
    '  - name: auditors',
    "    groups: ['*']",
    '    actions: [audit:read]',
    '  - groups: [ops]',
    '    actions: [admin]',
    '    scope: any',
    ''
  ].join('\n'))
  t.same(problemsOf(t, () => loadPolicyFile(path)), [
    `POLICY_FILE ${path}: rule "team-a runs its capsule" (/rules/0/actions/1) must be one of run, read, rename, delete, attach, list, audit:read, admin`,
    `POLICY_FILE ${path}: rule "team-b runs by name" (/rules/1) has "team-b-capsule" in capsules: capsule ids are UUIDs (e.g. 5f5c3c4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f), so it could never match a call; use the capsule's id, or "*" for all`,
    `POLICY_FILE ${path}: rule "auditors" (/rules/2) has "*" in groups: it is a wildcard only in subjects`,
    `POLICY_FILE ${path}: /rules/3 grants admin, which reaches every capsule and pipeline with scope any: drop its capsules, pipelines and scope, or grant other actions`
  ], 'schema problems and rule problems together, in file order')
})

t.test('a rule that is not an object is named by its place alone', async (t) => {
  t.same(problemsOf(t, () => checkPolicy({ rules: ['everyone', null] }, 'here')), ['here: /rules/0 expected object', 'here: /rules/1 expected object'])
})
