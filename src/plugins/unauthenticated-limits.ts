// Bounds what callers who present no credential at all can cost: each source address has a
// budget of such requests per minute (API calls, metrics scrapes, probes, unknown URLs); past it
// they get 429 at once, before any identity or audit work, so a flood of them cannot fill the
// audit trail or crowd out callers who prove who they are. A request carrying a credential
// (Authorization, the gateway's assertion, or its identity headers from the gateway's address)
// is never counted here: it is identified, and limited per caller, as usual. Refusals are
// counted in the metrics and logged at most once a minute; they leave no audit record each.
import { STATUS_CODES } from 'node:http'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { UnauthenticatedLimited } from '../errors.js'
import { SourceBudget } from '../net/source-budget.js'
import { ThrottledWarning } from '../throttled-warning.js'

export interface UnauthenticatedLimitsOptions {
  /** Requests without a credential a source address may make per minute; 0 for no limit. */
  perMinute: number
  /** Whether a request carries a credential (Authenticator.carriesCredential). */
  carriesCredential: (request: FastifyRequest) => boolean
}

const WARN_EVERY_MS = 60_000

async function unauthenticatedLimits (app: FastifyInstance, options: UnauthenticatedLimitsOptions): Promise<void> {
  if (options.perMinute === 0) return
  const budget = new SourceBudget({ perMinute: options.perMinute })
  const warning = new ThrottledWarning({ log: app.log, message: 'requests without a credential past UNAUTHENTICATED_PER_MINUTE are refused', intervalMs: WARN_EVERY_MS })
  app.addHook('onRequest', async (request, reply) => {
    if (options.carriesCredential(request)) return
    const seconds = budget.take(request.ip)
    if (seconds === 0) return
    app.metrics.unauthenticatedLimited()
    const error = new UnauthenticatedLimited()
    warning.occurred(new Error(`the last from ${request.ip}`))
    return await reply.code(429).header('retry-after', String(seconds)).header('connection', 'close').type('application/json; charset=utf-8').send({
      statusCode: 429,
      code: error.code,
      error: String(STATUS_CODES[429]),
      message: error.message,
      requestId: request.id
    })
  })
}

export default fp(unauthenticatedLimits, { name: 'unauthenticated-limits', fastify: '5.x' })
