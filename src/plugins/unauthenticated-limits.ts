// Bounds what callers who prove no one can cost, per source address, before any identity or
// audit work:
// - Requests without any credential (API calls, metrics scrapes, probes, unknown URLs) have a
//   budget per minute; past it they get 429 at once.
// - Requests whose credential proves no one (a garbage or forged Authorization, an assertion
//   that fails, any credential sent to a URL that is no route) have a budget of their own: each
//   credential takes from it before it is checked and gives back once it proves its caller. Past
//   it, every request from that address that carries a credential is refused with 429 before the
//   credential is checked, valid or not, until the budget refills: otherwise a flood of forged
//   keys would cost a key lookup and an audit record each, and could crowd out callers who prove
//   who they are. The gateway's addresses (TRUSTED_PROXIES) are spared this: every person behind
//   the gateway shares them.
// A request whose credential proves its caller is never counted: it is limited per caller, as
// usual. Refusals are counted in the metrics and logged at most once a minute; they leave no
// audit record each.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { FailedCredentialsLimited, Unauthenticated, UnauthenticatedLimited } from '../errors.js'
import { SourceBudget } from '../net/source-budget.js'
import type { Caller } from '../identity/caller.js'
import { ThrottledWarning } from '../throttled-warning.js'
import { routeOf } from '../contract/route-of-request.js'
import { STATUS_CODES } from '../net/node-http.js'

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
     * Told how identifying a request ended: a credential that proved its caller (or could not be
     * checked now) gives back what checking it took from its address's budget.
     */
    credentialChecked: (request: FastifyRequest, caller: Caller) => void
  }
}

async function unauthenticatedLimits (app: FastifyInstance, options: UnauthenticatedLimitsOptions): Promise<void> {
  if (options.perMinute === 0) {
    app.decorate('credentialChecked', () => {})
    return
  }
  const { carriesCredential, fromGateway } = options
  const withoutCredential = new SourceBudget({ perMinute: options.perMinute })
  const failedCredentials = new SourceBudget({ perMinute: options.perMinute })
  // Requests whose credential has been charged to their address, until it proves its caller.
  const charged = new WeakSet<FastifyRequest>()
  const warnings = {
    without: new ThrottledWarning({ log: app.log, message: 'requests without a credential past UNAUTHENTICATED_PER_MINUTE are refused', intervalMs: WARN_EVERY_MS }),
    failed: new ThrottledWarning({ log: app.log, message: 'an address whose credentials failed more than UNAUTHENTICATED_PER_MINUTE times is refused', intervalMs: WARN_EVERY_MS })
  }
  const refuse = async (request: FastifyRequest, reply: FastifyReply, seconds: number, error: Error & { code: string }, warning: ThrottledWarning): Promise<FastifyReply> => {
    app.metrics.unauthenticatedLimited()
    warning.occurred(new Error(`the last from ${request.ip}`))
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
      // Operational routes identify no one; the gateway's addresses are everyone's.
      if (routeOf(request).config.operational === true || fromGateway(request)) return
      // Taken before the credential is checked, and given back once it proves its caller: so
      // requests in flight at once cannot outrun the budget, and a credential sent to a URL that
      // proves no one (no route) costs what a failed one does.
      const seconds = failedCredentials.take(request.ip)
      if (seconds === 0) {
        charged.add(request)
        return
      }
      return await refuse(request, reply, seconds, new FailedCredentialsLimited(), warnings.failed)
    }
    const seconds = withoutCredential.take(request.ip)
    if (seconds === 0) return
    return await refuse(request, reply, seconds, new UnauthenticatedLimited(), warnings.without)
  })

  app.decorate('credentialChecked', (request: FastifyRequest, caller: Caller) => {
    // A credential that could not be checked now (503: the gateway's keys unreachable) is no failure.
    if (charged.has(request) && (caller.proven || !(caller.failure instanceof Unauthenticated))) failedCredentials.refund(request.ip)
  })
}

export default fp(unauthenticatedLimits, { name: 'unauthenticated-limits', fastify: '5.x' })
