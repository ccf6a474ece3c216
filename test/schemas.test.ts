// Schema helpers and the unknown-null rule, on their own; and the bounds every request shape has.
import { readFile } from 'node:fs/promises'
import { Type } from '@sinclair/typebox'
import t from 'tap'
import { ref } from '../schemas/common.js'
import { LIST_LIMITS, MAX_PARAMETER_VALUE_LENGTH } from '../schemas/computations.js'
import { renderOpenApiDocument } from '../src/openapi-document.js'
import { dropUnknownNulls } from '../src/validation/unknown-nulls.js'

t.test('ref() needs a schema with an $id', async (t) => {
  t.equal(ref(Type.String({ $id: 'Name' })).$ref, 'Name')
  t.throws(() => ref(Type.String()), TypeError)
})

t.test('only null-valued properties unknown to a closed object are dropped', async (t) => {
  const Inner = Type.Object({ a: Type.String() }, { $id: 'Inner', additionalProperties: false })
  const Open = Type.Object({ a: Type.String() }, { additionalProperties: true })
  const Outer = Type.Object({
    inner: Type.Union([Type.Ref('Inner'), Type.Null()]),
    list: Type.Array(Type.Ref('Inner')),
    open: Open,
    dangling: Type.Ref('Missing')
  }, { additionalProperties: false })
  const value = {
    inner: { a: 'x', gone: null, kept: 1 },
    list: [{ a: 'y', gone: null }, 'not an object'],
    open: { a: 'z', stays: null },
    dangling: { stays: null },
    gone: null,
    kept: 0
  }
  dropUnknownNulls(Outer, value, (id) => (id === 'Inner' ? Inner : undefined))
  t.same(value, {
    inner: { a: 'x', kept: 1 },
    list: [{ a: 'y' }, 'not an object'],
    open: { a: 'z', stays: null },
    dangling: { stays: null },
    kept: 0
  })
})

interface SchemaNode {
  $ref?: string
  type?: string
  const?: unknown
  enum?: unknown[]
  maxItems?: number
  maxLength?: number
  pattern?: string
  items?: SchemaNode
  properties?: Record<string, SchemaNode>
  anyOf?: SchemaNode[]
}
interface Operation { operationId: string, parameters?: Array<{ name: string, schema: SchemaNode }>, requestBody?: { content: Record<string, { schema: SchemaNode }> } }

/** A pattern anchored at both ends, without * or +, bounds a string's length by itself (a UUID's does). */
const boundedByPattern = (pattern: string | undefined): boolean =>
  pattern !== undefined && pattern.startsWith('^') && pattern.endsWith('$') && !/[*+]/.test(pattern)

t.test('every list a request can carry has a maxItems, and every string a maxLength', async (t) => {
  const document = JSON.parse(await renderOpenApiDocument()) as { paths: Record<string, Record<string, Operation>>, components: { schemas: Record<string, SchemaNode> } }
  const unbounded: string[] = []
  const visit = (node: SchemaNode, where: string, seen: ReadonlySet<string>): void => {
    if (node.$ref !== undefined) {
      const name = node.$ref.replace('#/components/schemas/', '')
      if (!seen.has(name)) visit(document.components.schemas[name] as SchemaNode, `${where}→${name}`, new Set([...seen, name]))
      return
    }
    for (const member of node.anyOf ?? []) visit(member, where, seen)
    if (node.type === 'array') {
      if (node.maxItems === undefined) unbounded.push(`${where}: a list without maxItems`)
      if (node.items !== undefined) visit(node.items, `${where}[]`, seen)
    }
    if (node.type === 'string' && node.const === undefined && node.enum === undefined && node.maxLength === undefined && !boundedByPattern(node.pattern)) {
      unbounded.push(`${where}: a string without maxLength`)
    }
    for (const [name, property] of Object.entries(node.properties ?? {})) visit(property, `${where}.${name}`, seen)
  }
  let visited = 0
  for (const methods of Object.values(document.paths)) {
    for (const operation of Object.values(methods)) {
      for (const parameter of operation.parameters ?? []) visit(parameter.schema, `${operation.operationId} ${parameter.name}`, new Set())
      for (const content of Object.values(operation.requestBody?.content ?? {})) visit(content.schema, `${operation.operationId} body`, new Set())
      visited++
    }
  }
  t.ok(visited > 10, `${visited} operations checked`)
  t.same(unbounded, [])
})

t.test('the bounds check finds what it is meant to', async (t) => {
  t.ok(boundedByPattern('^[A-Za-z]{1,64}$'))
  t.notOk(boundedByPattern('^[A-Za-z]+$'))
  t.notOk(boundedByPattern('[A-Za-z]{1,64}'))
  t.notOk(boundedByPattern(undefined))
})

t.test('docs/api.md states the bounds the schemas enforce', async (t) => {
  const api = await readFile(new URL('../docs/api.md', import.meta.url), 'utf8')
  t.match(api, `\`parameters\`, \`named_parameters\` of a run, and of each of its \`processes\` | ${LIST_LIMITS.parameters} each |`)
  t.match(api, `\`processes\` of a pipeline run | ${LIST_LIMITS.processes} |`)
  t.match(api, `data assets attached or detached in one call | ${LIST_LIMITS.dataAssets} |`)
  t.match(api, `a parameter value | ${MAX_PARAMETER_VALUE_LENGTH.toLocaleString('en')} characters |`)
})
