// Values a caller sent that may be confidential (parameter values, result paths, names) are kept
// in audit records only as HMAC-SHA256 under a server-held key: an investigator holding a known
// value can still find the records that carry it, and nobody reading the trail learns values.
import { createHmac } from 'node:crypto'
import type { FastifyRequest } from 'fastify'

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

/** HMACs of the confidential values of a validated request; empty when it has none. */
export function sensitiveValuesOf (request: FastifyRequest, hmac: Hmac): Record<string, unknown> {
  const hashed: Record<string, unknown> = {}
  const query = request.query as { name?: string, path?: string }
  if (typeof query.name === 'string') hashed.name = hmac(query.name)
  if (typeof query.path === 'string') hashed.path = hmac(query.path)
  const body = request.body as (RunBody & { path?: unknown }) | undefined
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return hashed
  if (typeof body.path === 'string') hashed.path = hmac(body.path)
  Object.assign(hashed, parametersOf(body, hmac))
  if (body.processes != null) {
    hashed.processes = Object.fromEntries(body.processes.map((process) => [process.name, parametersOf(process, hmac)]))
  }
  return hashed
}
