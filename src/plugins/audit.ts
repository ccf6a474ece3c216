// Gives every request an audit state and writes one `audit` log line when it completes,
// whatever the outcome: forwarded, rejected by validation, unknown route or failed upstream.
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { completedRecord, routeIdentityOf, type RequestAudit } from '../audit/request-audit.js'

declare module 'fastify' {
  interface FastifyRequest {
    audit: RequestAudit
  }
}

async function audit (app: FastifyInstance): Promise<void> {
  app.decorateRequest('audit', null as unknown as RequestAudit)
  app.addHook('onRequest', async (request) => {
    request.audit = {}
  })
  app.addHook('onResponse', async (request, reply) => {
    if (request.routeOptions.config.audit === false) return
    request.log.info({ audit: completedRecord(request, reply, routeIdentityOf(request)) }, 'audit')
  })
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** false for operational endpoints (docs, health) that are not API calls. */
    audit?: boolean
  }
}

export default fp(audit, { name: 'audit', fastify: '5.x' })
