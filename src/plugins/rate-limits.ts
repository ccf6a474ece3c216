// Per-caller rate limits (@fastify/rate-limit), keyed by the proven subject: runs, which are
// scarce and billable, have their own smaller budget; every other API call shares another.
// With REDIS_URL the counters live in Redis, so a limit holds across instances; in memory otherwise.
// Counters that fail or stall let the call through unlimited, counted in the metrics and logged.
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import rateLimit from '@fastify/rate-limit'
import type { Redis } from 'ioredis'
import { budgetOf } from '../contract/route-contract.js'
import { RateLimited, retryAfter } from '../errors.js'
import { identityOf } from '../identity/caller.js'
import { ThrottledWarning } from '../throttled-warning.js'
import { routeOf } from '../contract/route-of-request.js'

export interface RateLimitOptions {
  redisUrl?: string
  keyPrefix: string
  runsPerMinute: number
  callsPerMinute: number
}

const WINDOW_MS = 60_000
const READY_WAIT_MS = 1_000
/** While Redis fails, a warning at most this often (each says how many failures it stands for). */
const WARN_EVERY_MS = 60_000

type LimitHook = ReturnType<FastifyInstance['rateLimit']>

function subjectOf (request: FastifyRequest): string {
  // Only routes with a budget are limited, and those have refused any caller without identity.
  return `subject:${String(identityOf(request.caller)?.subject)}`
}

async function rateLimits (app: FastifyInstance, options: RateLimitOptions): Promise<void> {
  // Loaded only when configured: the client costs memory a single instance has no use for.
  const redis: Redis | undefined = options.redisUrl === undefined
    ? undefined
    : new (await import('ioredis')).Redis(options.redisUrl, {
      // A Redis that is down must not hold requests: fail fast, and let the limit be skipped.
      connectTimeout: 1000,
      // A Redis that stops answering on an open connection must not hold requests either.
      commandTimeout: 500,
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      lazyConnect: false
    })
  const failing = new ThrottledWarning({
    log: app.log,
    message: 'Redis for rate limits is unreachable or not answering: limits are not enforced until it answers again',
    intervalMs: WARN_EVERY_MS
  })
  redis?.on('error', (error: Error) => { failing.occurred(error) })
  // Ready before the first request where it can be (a Redis that is down does not hold start-up).
  if (redis !== undefined) {
    const settled = new Promise((resolve) => { redis.once('ready', resolve).once('error', resolve) })
    await Promise.race([settled, sleep(READY_WAIT_MS)])
  }
  await app.register(rateLimit, {
    global: false,
    keyGenerator: subjectOf,
    enableDraftSpec: true,
    // Failing counters are handled below (unlessCountersFail), so that they are seen.
    skipOnError: false,
    nameSpace: options.keyPrefix,
    ...(redis === undefined ? {} : { redis }),
    errorResponseBuilder: (request, context) => {
      const contract = routeOf(request).config.contract
      const error = new RateLimited(contract !== undefined && budgetOf(contract) === 'runs' ? 'run' : 'API', context.max, 'minute')
      return retryAfter(error, Math.max(1, Math.ceil(context.ttl / 1000)))
    }
  })
  /** The limit, or none when its counters fail or time out (commandTimeout): never a refusal for that. */
  function unlessCountersFail (limit: LimitHook): LimitHook {
    return async function (this: FastifyInstance, request, reply) {
      try {
        await limit.call(this, request, reply)
      } catch (error) {
        if (error instanceof RateLimited) throw error
        app.metrics.rateLimitCheckSkipped()
        failing.occurred(error as Error)
      }
    }
  }
  // One counter per caller for all its runs, and one for all its other calls: a limit configured
  // on each route would give every route a store (and so a budget) of its own.
  const runs = unlessCountersFail(app.rateLimit({ max: options.runsPerMinute, timeWindow: WINDOW_MS, keyGenerator: (request) => `${subjectOf(request)}:runs` }))
  const calls = unlessCountersFail(app.rateLimit({ max: options.callsPerMinute, timeWindow: WINDOW_MS, keyGenerator: (request) => `${subjectOf(request)}:calls` }))
  app.addHook('onRoute', (route) => {
    const contract = route.config?.contract
    const budget = contract === undefined ? undefined : budgetOf(contract)
    if (budget === undefined) return
    // After identity (onRequest), before the body is read: a caller over its limit costs little.
    route.preParsing = [...[route.preParsing ?? []].flat(), budget === 'runs' ? runs : calls]
  })
  app.addHook('onClose', async () => { redis?.disconnect() })
}

export default fp(rateLimits, { name: 'rate-limits', fastify: '5.x', dependencies: ['identity'] })
