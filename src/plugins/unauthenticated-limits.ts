// Bounds what callers who prove no one can cost, per source address, before any identity or
// audit work:
// - Requests without any credential (API calls, metrics scrapes, probes, unknown URLs) have a
//   budget per minute; past it they get 429 at once.
// - Requests whose credential was checked and proved no one (a garbage or forged Authorization,
//   an assertion that fails) have a budget of their own. Past it, every request from that address
//   that carries a credential is refused with 429 before the credential is checked, valid or not,
//   until the budget refills: otherwise a flood of forged keys would cost a key lookup and an
//   audit record each, and could crowd out callers who prove who they are. The gateway's
//   addresses (TRUSTED_PROXIES) are spared this: every person behind the gateway shares them.
// A request whose credential proves its caller is never counted: it is limited per caller, as
// usual. Refusals are counted in the metrics and logged at most once a minute; they leave no
// audit record each.
import { STATUS_CODES } from 'node:http'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { FailedCredentialsLimited, Unauthenticated, UnauthenticatedLimited } from '../errors.js'
import { SourceBudget } from '../net/source-budget.js'
import { ThrottledWarning } from '../throttled-warning.js'

export interface UnauthenticatedLimitsOptions {
  /** Requests without a credential a source address may make per minute, and as many that fail; 0 for no limit. */
  perMinute: number
  /** Whether a request carries a credential (Authenticator.carriesCredential). */
  carriesCredential: (request: FastifyRequest) => boolean
  /** Whether a request comes from the gateway's addresses (Authenticator.fromGateway). */
  fromGateway: (request: FastifyRequest) => boolean
}

const WARN_EVERY_MS = 60_000

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Charges a request whose credential proved no one to its address (a no-op without limits).
     * The identity step calls it as soon as it knows, so a caller who leaves before its 401 is
     * charged too.
     */
    credentialFailed: (request: FastifyRequest, failure: Error) => void
  }
}

async function unauthenticatedLimits (app: FastifyInstance, options: UnauthenticatedLimitsOptions): Promise<void> {
  if (options.perMinute === 0) {
    app.decorate('credentialFailed', () => {})
    return
  }
  const { carriesCredential, fromGateway } = options
  const withoutCredential = new SourceBudget({ perMinute: options.perMinute })
  const failedCredentials = new SourceBudget({ perMinute: options.perMinute })
  const warnings = {
    without: new ThrottledWarning({ log: app.log, message: 'requests without a credential past UNAUTHENTICATED_PER_MINUTE are refused', intervalMs: WARN_EVERY_MS }),
    failed: new ThrottledWarning({ log: app.log, message: 'an address whose credentials failed more than UNAUTHENTICATED_PER_MINUTE times is refused', intervalMs: WARN_EVERY_MS })
  }
  const refuse = async (request: FastifyRequest, reply: FastifyReply, seconds: number, error: Error & { code: string }): Promise<FastifyReply> => {
    app.metrics.unauthenticatedLimited()
    return await reply.code(429).header('retry-after', String(seconds)).header('connection', 'close').type('application/json; charset=utf-8').send({
      statusCode: 429,
      code: error.code,
      error: String(STATUS_CODES[429]),
      message: error.message,
      requestId: request.id
    })
  }

  app.addHook('onRequest', async (request, reply) => {
    if (carriesCredential(request)) {
      const seconds = fromGateway(request) ? 0 : failedCredentials.waitOf(request.ip)
      if (seconds === 0) return
      warnings.failed.occurred(new Error(`the last from ${request.ip}`))
      return await refuse(request, reply, seconds, new FailedCredentialsLimited())
    }
    const seconds = withoutCredential.take(request.ip)
    if (seconds === 0) return
    warnings.without.occurred(new Error(`the last from ${request.ip}`))
    return await refuse(request, reply, seconds, new UnauthenticatedLimited())
  })

  app.decorate('credentialFailed', (request: FastifyRequest, failure: Error) => {
    // A credential that could not be checked now (503: the gateway's keys unreachable) is no failure.
    if (!(failure instanceof Unauthenticated) || !carriesCredential(request) || fromGateway(request)) return
    failedCredentials.take(request.ip)
  })
}

export default fp(unauthenticatedLimits, { name: 'unauthenticated-limits', fastify: '5.x' })
