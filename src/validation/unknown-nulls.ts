// Newer SDKs serialise every field they know, unset ones as null. A field this proxy does not
// know yet, sent as null, carries no meaning: drop it before strict validation sees it.

export interface SchemaNode {
  $ref?: string | undefined
  type?: string | string[] | undefined
  anyOf?: SchemaNode[] | undefined
  properties?: Record<string, SchemaNode> | undefined
  additionalProperties?: unknown
  items?: SchemaNode | undefined
}

export type SchemaResolver = (ref: string) => SchemaNode | undefined

function isPlainObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Deletes, in place, null-valued properties that a closed object schema does not name. */
export function dropUnknownNulls (schema: SchemaNode, value: unknown, resolve: SchemaResolver): void {
  if (schema.$ref !== undefined) {
    const target = resolve(schema.$ref)
    if (target !== undefined) dropUnknownNulls(target, value, resolve)
    return
  }
  if (schema.anyOf !== undefined) {
    for (const member of schema.anyOf) dropUnknownNulls(member, value, resolve)
    return
  }
  if (Array.isArray(value)) {
    if (schema.type === 'array' && schema.items !== undefined) {
      for (const item of value) dropUnknownNulls(schema.items, item, resolve)
    }
    return
  }
  if (!isPlainObject(value) || schema.type !== 'object' || schema.properties === undefined) return
  for (const [key, child] of Object.entries(value)) {
    const property = Object.hasOwn(schema.properties, key) ? schema.properties[key] : undefined
    if (property !== undefined) {
      dropUnknownNulls(property, child, resolve)
    } else if (child === null && schema.additionalProperties === false) {
      delete value[key]
    }
  }
}
