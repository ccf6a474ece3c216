// schemas/policy.schema.json, the policy file's JSON Schema for editors: current, and agreeing
// with the proxy on the policies the tests use and on documents of the wrong shape.
import { readFile } from 'node:fs/promises'
import { Ajv } from 'ajv'
import t from 'tap'
import { parse as parseYaml } from 'yaml'
import { ConfigError } from '../../src/errors.js'
import { checkPolicy } from '../../src/policy/policy-file.js'
import { POLICY_SCHEMA_PATH, renderPolicyJsonSchema } from '../../src/policy/policy-json-schema.js'
import { DEFAULT_POLICY } from '../../src/policy/policy.js'

const committed = await readFile(POLICY_SCHEMA_PATH, 'utf8')
const validate = new Ajv({ strict: true, allErrors: true }).compile(JSON.parse(committed) as object)

t.test('the committed schema is what the policy\'s TypeBox schema generates (run `npm run generate:config` after changing it)', async (t) => {
  t.equal(committed, renderPolicyJsonSchema())
})

t.test('the policies the tests load, and the built-in default, are valid under it', async (t) => {
  for (const fixture of ['two-teams-policy.yaml', 'admin-policy.yaml']) {
    const document: unknown = parseYaml(await readFile(new URL(`../fixtures/${fixture}`, import.meta.url), 'utf8'))
    t.ok(validate(document), `${fixture}: ${JSON.stringify(validate.errors)}`)
    t.doesNotThrow(() => checkPolicy(document, fixture), 'and the proxy loads it')
  }
  t.ok(validate(DEFAULT_POLICY), 'the default policy')
})

t.test('a document of the wrong shape is refused by both the schema and the proxy', async (t) => {
  const rule = { subjects: ['alice'], actions: ['read'], capsules: ['*'] }
  const wrong: Record<string, unknown> = {
    'no rules': {},
    'an empty list of rules': { rules: [] },
    'an unknown top-level field': { rules: [rule], version: 2 },
    'an unknown rule field': { rules: [{ ...rule, effect: 'deny' }] },
    'an unknown action': { rules: [{ ...rule, actions: ['stop'] }] },
    'no actions': { rules: [{ ...rule, actions: [] }] },
    'an unknown scope': { rules: [{ ...rule, scope: 'team' }] },
    'a subject that is not a string': { rules: [{ ...rule, subjects: [42] }] },
    'an empty capsule id': { rules: [{ ...rule, capsules: [''] }] }
  }
  for (const [what, document] of Object.entries(wrong)) {
    t.notOk(validate(document), `${what}: the schema refuses it`)
    t.throws(() => checkPolicy(document, 'POLICY_FILE'), ConfigError, `${what}: the proxy refuses it`)
  }
  t.ok(validate({ rules: [rule] }), 'while the same rule, well formed, passes')
})
