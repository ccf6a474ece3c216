// What the audit trail says about one request. Collected while the request runs (upstream
// status, failure class) and written once it completes; later stages plug in here.
import type { FastifyReply, FastifyRequest } from 'fastify'

/**
 * Facts gathered while one request is handled, and the moment to write them: once the
 * response is closed (sent, or the caller went away) and no Code Ocean call is still out.
 * A caller that disconnects mid-run still gets a record of what Code Ocean answered.
 */
export class RequestAudit {
  upstreamStatus?: number
  upstreamMs?: number
  errorClass?: string
  errorCode?: string
  #responseClosed = false
  #upstreamCalls = 0
  #written = false
  readonly #write: (audit: RequestAudit) => void

  constructor (write: (audit: RequestAudit) => void) {
    this.#write = write
  }

  upstreamStarted (): void {
    this.#upstreamCalls++
  }

  upstreamSettled (): void {
    this.#upstreamCalls--
    this.#writeWhenDone()
  }

  responseClosed (): void {
    this.#responseClosed = true
    this.#writeWhenDone()
  }

  #writeWhenDone (): void {
    if (this.#written || !this.#responseClosed || this.#upstreamCalls > 0) return
    this.#written = true
    this.#write(this)
  }
}

export interface AuditRecord {
  requestId: string
  stage: 'completed'
  method: string
  action: string | null
  route: string | null
  resource: Record<string, string>
  sourceIp: string
  status: number
  upstreamStatus: number | null
  upstreamMs: number | null
  durationMs: number
  errorClass: string | null
  errorCode: string | null
}

const RESOURCE_FIELDS = ['computation_id', 'capsule_id', 'pipeline_id'] as const
const MAX_ID_LENGTH = 128

/** The resource ids a request names, from its path and, for a run, its body; bad ids are kept but cut short. */
export function resourceIdsOf (request: FastifyRequest): Record<string, string> {
  const resource: Record<string, string> = {}
  const sources = [request.params, request.body] as unknown[]
  for (const source of sources) {
    if (typeof source !== 'object' || source === null || Array.isArray(source)) continue
    for (const field of RESOURCE_FIELDS) {
      const value = (source as Record<string, unknown>)[field]
      if (typeof value === 'string' && resource[field] === undefined) resource[field] = value.slice(0, MAX_ID_LENGTH)
    }
  }
  return resource
}

/** The operation and route template of a matched route; both null where no route matched. */
export interface RouteIdentity {
  action: string | null
  route: string | null
}

export function routeIdentityOf (request: FastifyRequest): RouteIdentity {
  return { action: request.routeOptions.schema?.operationId ?? null, route: request.routeOptions.url ?? null }
}

export function completedRecord (request: FastifyRequest, reply: FastifyReply, route: RouteIdentity): AuditRecord {
  const { audit } = request
  const round = (ms: number): number => Math.round(ms * 1000) / 1000
  return {
    requestId: request.id,
    stage: 'completed',
    method: request.method,
    ...route,
    resource: resourceIdsOf(request),
    sourceIp: request.ip,
    status: reply.statusCode,
    upstreamStatus: audit.upstreamStatus ?? null,
    upstreamMs: audit.upstreamMs === undefined ? null : round(audit.upstreamMs),
    durationMs: round(reply.elapsedTime),
    errorClass: audit.errorClass ?? null,
    errorCode: audit.errorCode ?? null
  }
}
