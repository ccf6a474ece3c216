// Gives every request an audit state and writes one `audit` log line when it completes,
// whatever the outcome: forwarded, rejected by validation, unknown route, failed upstream, or
// abandoned by the caller (Fastify's onResponse does not run then, so the response's own
// `close` event is what ends the record).
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { completedRecord, RequestAudit, routeIdentityOf } from '../audit/request-audit.js'

declare module 'fastify' {
  interface FastifyRequest {
    audit: RequestAudit
  }
}

async function audit (app: FastifyInstance): Promise<void> {
  app.decorateRequest('audit', null as unknown as RequestAudit)
  app.addHook('onRequest', async (request, reply) => {
    const audited = request.routeOptions.config.audit !== false
    request.audit = new RequestAudit((audit) => {
      if (!audited) return
      if (!reply.raw.writableEnded) audit.errorClass ??= 'client_aborted'
      request.log.info({ audit: completedRecord(request, reply, routeIdentityOf(request)) }, 'audit')
    })
    reply.raw.once('close', () => request.audit.responseClosed())
  })
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** false for operational endpoints (docs, health) that are not API calls. */
    audit?: boolean
  }
}

export default fp(audit, { name: 'audit', fastify: '5.x' })
