// What the audit trail says about one request. Collected while the request runs (upstream
// status, failure class) and written once it completes; later stages plug in here.
import type { FastifyReply, FastifyRequest } from 'fastify'
import { identityOf } from '../identity/caller.js'
import type { Identity } from '../identity/identity.js'
import { canonicalId } from '../policy/targets.js'
import type { UpstreamOutcome } from '../upstream/outcome.js'
import { sensitiveValuesOf, type Hmac } from './sensitive.js'
import { routeOf } from '../contract/route-of-request.js'

/**
 * Facts gathered while one request is handled, and the moment to write them: once the
 * response is closed (sent, or the caller went away) and no Code Ocean call is still out.
 * A caller that disconnects mid-run still gets a record of what Code Ocean answered.
 */
export class RequestAudit {
  /** The Audit-Id of this request: both of its records carry it. */
  readonly auditId: string
  /** The chain position of the `received` record, which a mutating call waits to be durable. */
  receivedSeq = 0
  /** Set once validation passed: only then are body fields trusted as the request's resource. */
  validated = false
  /** The id Code Ocean gave a run: the run's records are found by it like every later call's. */
  createdComputationId?: string
  upstreamStatus?: number
  upstreamMs?: number
  /** Calls made to Code Ocean for this request, retries included. */
  upstreamAttempts = 0
  /** Where the answer came from: Code Ocean itself, another caller's identical poll, the cache, or a stored idempotent answer. */
  answerSource: 'upstream' | 'coalesced' | 'cache' | 'replay' | null = null
  errorClass?: string
  errorCode?: string
  /** What became of the call to Code Ocean; undefined while none was made (or none will be). */
  upstream: UpstreamOutcome | undefined = undefined
  #responseClosed = false
  #upstreamCalls = 0
  #written = false
  /** What the policy decided, and why; null where nothing was decided (no action, or refused earlier). */
  decision: { outcome: 'allow' | 'deny', reason: string } | null = null
  readonly #afterwards: Array<() => void> = []
  readonly #write: (audit: RequestAudit) => void
  readonly #durable: (seq: number) => Promise<void>

  constructor (auditId: string, write: (audit: RequestAudit) => void, durable: (seq: number) => Promise<void>) {
    this.auditId = auditId
    this.#write = write
    this.#durable = durable
  }

  /** Resolves once the `received` record is committed: a call that changes something waits for it. */
  async durable (): Promise<void> {
    // Nothing changes at Code Ocean without a record of it first: no received record, no call.
    if (this.receivedSeq === 0) throw new Error('this request has no received record to wait for')
    await this.#durable(this.receivedSeq)
  }

  /** Records what became of the call to Code Ocean: once per request, by the forwarder. */
  recordUpstream (outcome: UpstreamOutcome): void {
    this.upstream = outcome
    this.upstreamAttempts = outcome.attempts
    this.upstreamMs = outcome.durationMs
    this.answerSource = outcome.source
    if (outcome.status !== undefined) this.upstreamStatus = outcome.status
    if (outcome.kind === 'failure') {
      this.errorClass = outcome.failure.errorClass
      // (@fastify/error sets `code` on each instance, not on the prototype.)
      this.errorCode = outcome.failure.error.code
    }
  }

  upstreamStarted (): void {
    this.#upstreamCalls++
  }

  upstreamSettled (): void {
    this.#upstreamCalls--
    this.#writeWhenDone()
  }

  /** Runs `action` once the request is over, after its completed record: what depends on how it ended. */
  whenDone (action: () => void): void {
    // A caller can leave while a hook is still working: then the request is over already.
    if (this.#written) action()
    else this.#afterwards.push(action)
  }

  responseClosed (): void {
    this.#responseClosed = true
    this.#writeWhenDone()
  }

  #writeWhenDone (): void {
    if (this.#written || !this.#responseClosed || this.#upstreamCalls > 0) return
    this.#written = true
    this.#write(this)
    for (const action of this.#afterwards) action()
  }
}

/** What is known when a request arrives, before anything is done with it. */
export interface ReceivedRecord {
  auditId: string
  requestId: string
  stage: 'received'
  method: string
  action: string | null
  route: string | null
  resource: Record<string, string>
  sourceIp: string
  /** The proven caller; null when none was proven. */
  actor: Identity | null
}

/** How a request ended. */
export interface AuditRecord extends Omit<ReceivedRecord, 'stage'> {
  stage: 'completed'
  /** When the request arrived (ISO-8601 UTC); the record's own recordedAt is when it ended. */
  receivedAt: string
  /** HMAC-SHA256 of the request's confidential values (names, result paths, parameter values). */
  sensitive: Record<string, unknown>
  /** What the caller was answered; 499 when it left before any answer was sent. */
  status: number
  /** The caller closed the connection before the whole answer was sent. */
  clientAborted: boolean
  upstreamStatus: number | null
  upstreamMs: number | null
  /** Calls made to Code Ocean for this request (retries included); 0 for one answered from a shared poll or the cache. */
  upstreamAttempts: number
  answerSource: RequestAudit['answerSource']
  durationMs: number
  /** The request body's size, from its Content-Length. */
  requestBytes: number
  /** The answer's size when it declared one (Content-Length); null for a streamed answer without. */
  responseBytes: number | null
  errorClass: string | null
  errorCode: string | null
  decision: RequestAudit['decision']
}

const RESOURCE_FIELDS = ['computation_id', 'capsule_id', 'pipeline_id', 'resume_run_id'] as const
const MAX_ID_LENGTH = 128

/** Status recorded for a caller that left before any answer was sent (nginx's convention). */
export const CLIENT_CLOSED_REQUEST = 499

/**
 * The resource ids a request names: from its path (bad ids are kept, cut short, to show what was
 * probed) and, once validated, from its body (a run's capsule or pipeline).
 */
export function resourceIdsOf (request: FastifyRequest): Record<string, string> {
  const resource: Record<string, string> = {}
  const bodyTrusted = request.audit.validated && routeOf(request).schema?.body !== undefined
  const sources = [request.params, bodyTrusted ? request.body : undefined]
  for (const source of sources) {
    if (typeof source !== 'object' || source === null || Array.isArray(source)) continue
    for (const field of RESOURCE_FIELDS) {
      const value = (source as Record<string, unknown>)[field]
      // Lower case, as Code Ocean writes ids and authorization compares them: a search finds the
      // record whatever case the caller typed.
      if (typeof value === 'string' && resource[field] === undefined) resource[field] = canonicalId(value.slice(0, MAX_ID_LENGTH))
    }
  }
  if (request.audit.createdComputationId !== undefined) resource.computation_id = canonicalId(request.audit.createdComputationId.slice(0, MAX_ID_LENGTH))
  return resource
}

/** The operation and route template of a matched route; both null where no route matched. */
export interface RouteIdentity {
  action: string | null
  route: string | null
}

export function routeIdentityOf (request: FastifyRequest): RouteIdentity {
  const { schema, url } = routeOf(request)
  return { action: schema?.operationId ?? null, route: url ?? null }
}

export function receivedRecord (request: FastifyRequest, route: RouteIdentity): ReceivedRecord {
  return {
    auditId: request.audit.auditId,
    requestId: request.id,
    stage: 'received',
    method: request.method,
    ...route,
    resource: resourceIdsOf(request),
    sourceIp: request.ip,
    actor: identityOf(request.caller)
  }
}

export function completedRecord (request: FastifyRequest, reply: FastifyReply, route: RouteIdentity, hmac: Hmac): AuditRecord {
  const { audit } = request
  const round = (ms: number): number => Math.round(ms * 1000) / 1000
  const answered = reply.raw.writableEnded
  return {
    auditId: audit.auditId,
    requestId: request.id,
    stage: 'completed',
    receivedAt: new Date(Date.now() - reply.elapsedTime).toISOString(),
    method: request.method,
    ...route,
    resource: resourceIdsOf(request),
    sensitive: audit.validated ? sensitiveValuesOf(request, hmac) : {},
    sourceIp: request.ip,
    actor: identityOf(request.caller),
    status: answered || reply.raw.headersSent ? reply.statusCode : CLIENT_CLOSED_REQUEST,
    clientAborted: !answered,
    upstreamStatus: audit.upstreamStatus ?? null,
    upstreamMs: audit.upstreamMs === undefined ? null : round(audit.upstreamMs),
    upstreamAttempts: audit.upstreamAttempts,
    answerSource: audit.answerSource,
    durationMs: round(reply.elapsedTime),
    requestBytes: Number(request.headers['content-length'] ?? 0),
    responseBytes: sizeOf(reply.getHeader('content-length')),
    errorClass: audit.errorClass ?? null,
    errorCode: audit.errorCode ?? null,
    decision: audit.decision
  }
}

function sizeOf (header: unknown): number | null {
  const size = Number(header)
  return header === undefined || !Number.isSafeInteger(size) ? null : size
}
