// Values a caller sent that may be confidential (parameter values, result paths, names) are kept
// in audit records only as HMAC-SHA256 under a server-held key: an investigator holding a known
// value can still find the records that carry it, and nobody reading the trail learns values.
// A run's parameters past MAX_HASHED_VALUES become one digest, so a record's size and cost stay
// bounded whatever the request.
import { createHmac, createSecretKey } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import { canonicalJson } from '../canonical-json.js'
import type { SensitiveValue } from '../contract/route-contract.js'
import { routeOf } from '../contract/route-of-request.js'

export type Hmac = (value: string) => string

export function hmacWith (key: Buffer): Hmac {
  // A KeyObject made once: Node 24 spends about 17 µs checking a Buffer key on every HMAC.
  const secret = createSecretKey(key)
  return (value) => createHmac('sha256', secret).update(value).digest('hex')
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

/**
 * Past this many parameters, named parameters and processes together, a run's parameters are
 * kept as one HMAC over all of them (and their count), not one HMAC per value.
 */
export const MAX_HASHED_VALUES = 64

function valuesIn (body: Omit<RunBody, 'processes'>): number {
  return (body.parameters?.length ?? 0) + (body.named_parameters?.length ?? 0)
}

/**
 * The text the aggregate digest is an HMAC of: the canonical JSON (keys sorted, no spaces) of the
 * run's `parameters`, `named_parameters` and `processes` as sent, each null when absent, as are
 * a process's own. An investigator holding a run's whole parameter list can rebuild it.
 */
export function parameterListText (body: RunBody): string {
  return canonicalJson({
    parameters: body.parameters ?? null,
    named_parameters: body.named_parameters ?? null,
    processes: body.processes?.map((process) => ({
      name: process.name,
      parameters: process.parameters ?? null,
      named_parameters: process.named_parameters ?? null
    })) ?? null
  })
}

function hashedParameters (body: RunBody, hmac: Hmac): Record<string, unknown> {
  const processes = body.processes ?? []
  const count = processes.reduce((sum, process) => sum + 1 + valuesIn(process), valuesIn(body))
  if (count > MAX_HASHED_VALUES) return { parametersDigest: { count, hmac: hmac(parameterListText(body)) } }
  const hashed = parametersOf(body, hmac)
  if (body.processes != null) {
    hashed.processes = Object.fromEntries(body.processes.map((process) => [process.name, parametersOf(process, hmac)]))
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
  'body.parameters': ({ body }, hmac) => typeof body === 'object' && body !== null ? hashedParameters(body, hmac) : {}
}

/** HMACs of the confidential values of a validated request, as its route's contract names them; empty when it has none. */
export function sensitiveValuesOf (request: FastifyRequest, hmac: Hmac): Record<string, unknown> {
  const sent: Sent = { query: request.query as Sent['query'], body: request.body as Sent['body'] }
  const sensitive = routeOf(request).config.contract?.sensitive ?? []
  return Object.assign({}, ...sensitive.map((value) => HASHERS[value](sent, hmac))) as Record<string, unknown>
}
