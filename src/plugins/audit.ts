// Gives every request an audit state and writes one `audit` log line when it completes,
// whatever the outcome: forwarded, rejected by validation, unknown route, failed upstream, or
// abandoned by the caller (Fastify's onResponse does not run then, so the response's own
// `close` event is what ends the record). Audit lines go to their own logger at `info`, so
// LOG_LEVEL cannot switch the audit trail off.
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { completedRecord, RequestAudit, routeIdentityOf, type RouteIdentity } from '../audit/request-audit.js'

declare module 'fastify' {
  interface FastifyRequest {
    audit: RequestAudit
  }
}

export interface AuditOptions {
  auditLog: FastifyBaseLogger
}

/** Starts the audit of one request; its record is written once the response has closed. */
export function auditRequest (
  request: FastifyRequest,
  reply: FastifyReply,
  auditLog: FastifyBaseLogger,
  routeOf: (request: FastifyRequest) => RouteIdentity
): void {
  request.audit = new RequestAudit(() => {
    auditLog.info({ requestId: request.id, audit: completedRecord(request, reply, routeOf(request)) }, 'audit')
  })
  reply.raw.once('close', () => request.audit.responseClosed())
}

async function audit (app: FastifyInstance, options: AuditOptions): Promise<void> {
  app.decorateRequest('audit', null as unknown as RequestAudit)
  app.addHook('onRequest', async (request, reply) => {
    auditRequest(request, reply, options.auditLog, routeIdentityOf)
  })
  // preHandler runs only for requests that passed validation.
  app.addHook('preHandler', async (request) => {
    request.audit.validated = true
  })
}

export default fp(audit, { name: 'audit', fastify: '5.x' })
