// Audits every request: a `completed` record when its response has closed (sent, or abandoned
// by the caller: Fastify's onResponse does not run then), with the time it arrived and the time
// it ended. A mutation (a run, rename, delete, attach or detach by a proven caller) also gets a
// `received` record once it is known valid (so that it names what a run's body asks for), which
// is committed before it is forwarded. Reads, refusals of callers who prove no one and unknown URLs get the completed record
// only: one record and one log line each. Every record goes to the durable, hash-chained trail
// and, as one JSON line under `audit`, to the log (their own logger at info, so LOG_LEVEL
// cannot switch them off). A mutating call is forwarded only once its `received` record is
// committed (RequestAudit.durable, awaited by the forwarder); if it cannot be, the caller gets
// 503 and nothing is forwarded.
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { newAuditId } from '../audit/audit-id.js'
import { completedRecord, receivedRecord, RequestAudit, routeIdentityOf, type AuditRecord, type RouteIdentity } from '../audit/request-audit.js'
import { writeAuditLine } from '../logger.js'
import type { Hmac } from '../audit/sensitive.js'
import type { AuditTrail } from '../audit/trail.js'
import type { RouteContract } from '../contract/route-contract.js'
import { AuditUnavailable } from '../errors.js'
import { routeOf } from '../contract/route-of-request.js'

declare module 'fastify' {
  interface FastifyRequest {
    audit: RequestAudit
  }
}

export interface AuditWriters {
  /** Audit lines only (see auditLineLogger): anything else goes through request.log. */
  log: FastifyBaseLogger
  trail: AuditTrail
  /** Keeps confidential values out of the trail (see sensitive.ts). */
  hmac: Hmac
  /** Told of every completed record (the metrics count requests from them). */
  observe?: (record: AuditRecord, contract: RouteContract | undefined) => void
}

export const AUDIT_ID_HEADER = 'audit-id'

/**
 * Writes a record's audit line and appends it to the trail, serializing it once for both;
 * returns its sequence number. Throws as AuditTrail.append does (the line is written first).
 */
export function writeRecord (writers: Pick<AuditWriters, 'log' | 'trail'>, stage: 'received' | 'completed', record: { auditId: string, requestId: string }, reserved = false): number {
  const json = JSON.stringify(record)
  writeAuditLine(writers.log, record.requestId, record, json)
  return writers.trail.append(stage, record.auditId, record, reserved, json)
}

/**
 * Starts the audit of one request: writes its `received` record and arranges for the
 * `completed` one. Throws AuditUnavailable when the trail cannot take another record.
 */
export function auditRequest (
  request: FastifyRequest,
  reply: FastifyReply,
  writers: AuditWriters,
  route: RouteIdentity
): void {
  const auditId = newAuditId()
  reply.header(AUDIT_ID_HEADER, auditId)
  // Whether the completed record has its place in the queue (see below).
  let placed = false
  request.audit = new RequestAudit(auditId, () => {
    const record = completedRecord(request, reply, route, writers.hmac)
    writers.observe?.(record, routeOf(request).config.contract)
    try {
      writeRecord(writers, 'completed', record, placed)
    } catch (error) {
      // Only a record without a reserved place: one of a request refused for want of room.
      request.log.error({ err: error, auditId }, 'a completed audit record could not be queued')
    }
  }, async (seq) => { await writers.trail.flushThrough(seq) })
  reply.raw.once('close', () => request.audit.responseClosed())
  // The completed record's place is reserved now, so a request let in is never answered
  // unaudited for want of room at its end; while the trail has no room it is refused with 503.
  try {
    writers.trail.reserve()
  } catch (error) {
    throw new AuditUnavailable({ cause: error })
  }
  placed = true
  // Hooks before this one (identity: a JWT check, a key lookup) may have let the caller leave
  // already, and 'close' fires once: the request is over, and its completed record is due now.
  if (reply.raw.destroyed) request.audit.responseClosed()
}

/**
 * Writes the `received` record of a mutation by a proven caller, once its request is valid: it
 * names the request's resource, a run's capsule or pipeline from its body included, and is
 * committed before the call is forwarded. Anything else gets its completed record only, which
 * holds all a received one would and the time it arrived (receivedAt): a read changes nothing at
 * Code Ocean, so nothing waits for a record of it, and a request that proves no one, names no
 * route or is not valid is refused before anything is done. Throws AuditUnavailable when the
 * trail cannot take the record.
 */
export function recordReceived (request: FastifyRequest, reply: FastifyReply, writers: AuditWriters): void {
  if (request.caller?.proven !== true || routeOf(request).config.contract?.mutates !== true) return
  // A caller who left while earlier hooks worked has its completed record already (or about to):
  // nothing is forwarded for it, and a received record would follow its completed one.
  if (reply.raw.destroyed) return
  const received = receivedRecord(request, routeIdentityOf(request))
  try {
    request.audit.receivedSeq = writeRecord(writers, 'received', received)
  } catch (error) {
    throw new AuditUnavailable({ cause: error })
  }
}

/** Starts a request's audit where its route is audited at all (operational routes are not). */
export function startAudit (request: FastifyRequest, reply: FastifyReply, writers: AuditWriters): void {
  if (routeOf(request).config.operational === true) request.audit = new RequestAudit('', () => {}, async () => {})
  else auditRequest(request, reply, writers, routeIdentityOf(request))
}

async function audit (app: FastifyInstance, options: AuditWriters): Promise<void> {
  app.decorateRequest('audit', null as unknown as RequestAudit)
  // Hooks with nothing to wait for take Fastify's callback, not a promise: one less per request.
  // What they throw fails the request as a rejection would (Fastify's hook runner catches it).
  app.addHook('onRequest', (request, reply, done) => {
    startAudit(request, reply, options)
    done()
  })
  // preHandler runs only for requests that passed validation; this one runs before authorization's.
  app.addHook('preHandler', (request, reply, done) => {
    request.audit.validated = true
    recordReceived(request, reply, options)
    done()
  })
}

export default fp(audit, { name: 'audit', fastify: '5.x', dependencies: ['identity'] })
