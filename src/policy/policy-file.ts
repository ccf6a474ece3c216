// The policy file (POLICY_FILE, JSON or YAML): its schema and its loading. A file that does not
// match stops the process at start-up with every problem named, never a half-understood policy.
import { Type, type Static, type TArray, type TString } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { parse as parseYaml } from 'yaml'
import { UUID_PATTERN } from '../../schemas/common.js'
import { readConfiguredFile } from '../config-file.js'
import { ConfigError } from '../errors.js'

export const ACTIONS = ['run', 'read', 'rename', 'delete', 'attach', 'list', 'audit:read', 'admin'] as const
export type Action = typeof ACTIONS[number]
export const SCOPES = ['own', 'group', 'any'] as const
export type Scope = typeof SCOPES[number]

const Names = (description: string): TArray<TString> => Type.Array(Type.String({ minLength: 1, maxLength: 256 }), { maxItems: 10_000, description })

// The descriptions are what an editor shows over each field (schemas/policy.schema.json).
export const PolicyRule = Type.Object({
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Shown in audit decisions: which rule let a call through.' })),
  subjects: Type.Optional(Names('Callers by subject (a gateway user, a service key\'s subject); "*" is every authenticated caller.')),
  groups: Type.Optional(Names('Callers by group (from the gateway, or a service key\'s groups).')),
  actions: Type.Array(Type.Union(ACTIONS.map((action) => Type.Literal(action))), {
    minItems: 1,
    description: 'What the rule grants: run, list (a capsule\'s or pipeline\'s computations), read (a computation, its results and their URLs), rename, ' +
      'delete, attach (data assets), audit:read (GET /audit/events), admin (all of them, everywhere, scope any).'
  }),
  capsules: Type.Optional(Names('Capsule ids (UUIDs) the actions reach, or "*" for all.')),
  pipelines: Type.Optional(Names('Pipeline ids (UUIDs) the actions reach, or "*" for all.')),
  data_assets: Type.Optional(Names('Data asset ids (UUIDs) the rule\'s run and attach may mount, or "*" for all; none when absent.')),
  scope: Type.Optional(Type.Union(SCOPES.map((scope) => Type.Literal(scope)), {
    description: 'Whose computations read, rename, delete and attach reach: the caller\'s own (the default), those of someone who shared a group with ' +
      'the caller when starting them, or anyone\'s.'
  }))
}, { additionalProperties: false })
export type PolicyRule = Static<typeof PolicyRule>

export const PolicyDocument = Type.Object({
  rules: Type.Array(PolicyRule, { minItems: 1, description: 'Rules only grant: a caller may do what any rule naming them grants.' })
}, { additionalProperties: false, title: 'codeocean-proxy policy', description: 'The policy file POLICY_FILE names (JSON or YAML): who may do what, to which capsules and pipelines.' })
export type PolicyDocument = Static<typeof PolicyDocument>

/** Reads and checks a policy file; throws ConfigError naming the file and each problem. */
export function loadPolicyFile (path: string): PolicyDocument {
  const text = readConfiguredFile('POLICY_FILE', path)
  let parsed: unknown
  try {
    parsed = /\.json$/i.test(path) ? JSON.parse(text) : parseYaml(text)
  } catch (error) {
    // The parser's first line says where; the rest is an excerpt of the file.
    const where = String((error as Error).message).replace(/\n[\s\S]*$/, '')
    throw new ConfigError([`POLICY_FILE ${path} is not valid ${/\.json$/i.test(path) ? 'JSON' : 'YAML'}: ${where}`])
  }
  return checkPolicy(parsed, `POLICY_FILE ${path}`)
}

export function checkPolicy (document: unknown, where: string): PolicyDocument {
  const problems: string[] = []
  for (const error of Value.Errors(PolicyDocument, document)) {
    if (problems.length === 20) break
    const choices = (error.schema.anyOf as Array<{ const?: unknown }> | undefined)?.map((choice) => String(choice.const))
    const expected = choices === undefined ? error.message.toLowerCase() : `must be one of ${choices.join(', ')}`
    problems.push(`${where}: ${error.path === '' ? 'the document' : located(document, error.path)} ${expected}`)
  }
  // Rules that match the schema are checked for sense too, so one start names every problem.
  const rules: unknown[] = Array.isArray((document as { rules?: unknown } | null)?.rules) ? (document as { rules: unknown[] }).rules : []
  rules.forEach((rule, index) => {
    if (!Value.Check(PolicyRule, rule)) return
    problems.push(...ruleProblems(rule).map((problem) => `${where}: ${located(document, `/rules/${index}`)} ${problem}`))
  })
  if (problems.length > 0) throw new ConfigError(dedupe(problems))
  return document as PolicyDocument
}

/**
 * Where in the document a problem is: the path, after the rule's name when it has one (a rule
 * is found by its name in a long file, not by counting), e.g. `rule "admins" (/rules/4/scope)`.
 */
function located (document: unknown, path: string): string {
  const index = /^\/rules\/(\d+)(?:\/|$)/.exec(path)?.[1]
  const name = index === undefined ? undefined : ((document as { rules: unknown[] }).rules[Number(index)] as { name?: unknown } | null)?.name
  return typeof name === 'string' && name !== '' ? `rule ${JSON.stringify(name)} (${path})` : path
}

/** Code Ocean's capsule, pipeline and data asset ids are UUIDs; anything else in a rule could never match a call. */
const ID = new RegExp(UUID_PATTERN)

/** Rules that parse but would not do what they seem to say. */
function ruleProblems (rule: PolicyRule): string[] {
  const problems: string[] = []
  if ((rule.subjects?.length ?? 0) + (rule.groups?.length ?? 0) === 0) {
    problems.push('names no subjects or groups, so it grants nothing (use subjects: ["*"] for everyone)')
  }
  if (rule.groups?.includes('*') === true) problems.push('has "*" in groups: it is a wildcard only in subjects')
  for (const [kind, field, ids] of [['capsule', 'capsules', rule.capsules], ['pipeline', 'pipelines', rule.pipelines], ['data asset', 'data_assets', rule.data_assets]] as const) {
    const wrong = ids?.filter((id) => id !== '*' && !ID.test(id)) ?? []
    if (wrong.length > 0) {
      problems.push(`has ${wrong.map((id) => JSON.stringify(id)).join(', ')} in ${field}: ${kind} ids are UUIDs (e.g. 5f5c3c4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f), so it could never match a call; use the ${kind}'s id, or "*" for all`)
    }
  }
  if (rule.actions.includes('admin')) {
    if (rule.capsules !== undefined || rule.pipelines !== undefined || rule.scope !== undefined) {
      problems.push('grants admin, which reaches every capsule and pipeline with scope any: drop its capsules, pipelines and scope, or grant other actions')
    }
    if (rule.data_assets !== undefined) problems.push('grants admin, which mounts every data asset: drop its data_assets, or grant other actions')
  } else if (rule.actions.some((action) => action !== 'audit:read') && (rule.capsules?.length ?? 0) + (rule.pipelines?.length ?? 0) === 0) {
    problems.push('names no capsules or pipelines, so its actions reach nothing (use capsules: ["*"] for all)')
  }
  return problems
}

function dedupe (problems: string[]): string[] {
  return [...new Set(problems)]
}
