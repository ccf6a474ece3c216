// Values a caller sent that may be confidential (parameter values, result paths, names) are kept
// in audit records only as HMAC-SHA256 under a server-held key: an investigator holding a known
// value can still find the records that carry it, and nobody reading the trail learns values.
import { createHmac } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import type { SensitiveValue } from '../contract/route-contract.js'

export type Hmac = (value: string) => string

export function hmacWith (key: Buffer): Hmac {
  return (value) => createHmac('sha256', key).update(value).digest('hex')
}

interface NamedParameter { param_name: string, value: string }
interface RunBody {
  parameters?: string[] | null
  named_parameters?: NamedParameter[] | null
  processes?: Array<{ name: string, parameters?: string[] | null, named_parameters?: NamedParameter[] | null }> | null
}

function parametersOf (body: Omit<RunBody, 'processes'>, hmac: Hmac): Record<string, unknown> {
  const hashed: Record<string, unknown> = {}
  if (body.parameters != null) hashed.parameters = body.parameters.map(hmac)
  if (body.named_parameters != null) {
    hashed.named_parameters = Object.fromEntries(body.named_parameters.map((parameter) => [parameter.param_name, hmac(parameter.value)]))
  }
  return hashed
}

interface Sent {
  query: { name?: unknown, path?: unknown }
  body: (RunBody & { path?: unknown }) | undefined
}

/** How each kind of confidential value is found and hashed; every kind a contract can name has one. */
const HASHERS: Readonly<Record<SensitiveValue, (sent: Sent, hmac: Hmac) => Record<string, unknown>>> = {
  'query.name': ({ query }, hmac) => typeof query.name === 'string' ? { name: hmac(query.name) } : {},
  'query.path': ({ query }, hmac) => typeof query.path === 'string' ? { path: hmac(query.path) } : {},
  'body.path': ({ body }, hmac) => typeof body?.path === 'string' ? { path: hmac(body.path) } : {},
  'body.parameters': ({ body }, hmac) => {
    if (typeof body !== 'object' || body === null) return {}
    const hashed = parametersOf(body, hmac)
    if (body.processes != null) {
      hashed.processes = Object.fromEntries(body.processes.map((process) => [process.name, parametersOf(process, hmac)]))
    }
    return hashed
  }
}

/** HMACs of the confidential values of a validated request, as its route's contract names them; empty when it has none. */
export function sensitiveValuesOf (request: FastifyRequest, hmac: Hmac): Record<string, unknown> {
  const sent: Sent = { query: request.query as Sent['query'], body: request.body as Sent['body'] }
  const sensitive = request.routeOptions.config.contract?.sensitive ?? []
  return Object.assign({}, ...sensitive.map((value) => HASHERS[value](sent, hmac))) as Record<string, unknown>
}
