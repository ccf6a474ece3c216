// Per-caller rate limits (@fastify/rate-limit), keyed by the proven subject: runs, which are
// scarce and billable, have their own smaller budget; every other API call shares another.
// With REDIS_URL the counters live in Redis, so a limit holds across instances; in memory otherwise.
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import rateLimit from '@fastify/rate-limit'
import { Redis } from 'ioredis'
import { budgetOf } from '../contract/route-contract.js'
import { RateLimited, retryAfter } from '../errors.js'
import { identityOf } from '../identity/caller.js'

export interface RateLimitOptions {
  redisUrl?: string
  keyPrefix: string
  runsPerMinute: number
  callsPerMinute: number
}

const WINDOW_MS = 60_000
const READY_WAIT_MS = 1_000

function subjectOf (request: FastifyRequest): string {
  // Only routes with a budget are limited, and those have refused any caller without identity.
  return `subject:${String(identityOf(request.caller)?.subject)}`
}

async function rateLimits (app: FastifyInstance, options: RateLimitOptions): Promise<void> {
  const redis = options.redisUrl === undefined
    ? undefined
    : new Redis(options.redisUrl, {
      // A Redis that is down must not hold requests: fail fast, and let the limit be skipped.
      connectTimeout: 1000,
      // A Redis that stops answering on an open connection must not hold requests either.
      commandTimeout: 500,
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      lazyConnect: false
    })
  redis?.on('error', (error: Error) => { app.log.warn({ errMessage: error.message }, 'Redis for rate limits is unreachable: limits are not enforced until it is back') })
  // Ready before the first request where it can be (a Redis that is down does not hold start-up).
  if (redis !== undefined) {
    const settled = new Promise((resolve) => { redis.once('ready', resolve).once('error', resolve) })
    await Promise.race([settled, sleep(READY_WAIT_MS)])
  }
  await app.register(rateLimit, {
    global: false,
    keyGenerator: subjectOf,
    enableDraftSpec: true,
    skipOnError: true,
    nameSpace: options.keyPrefix,
    ...(redis === undefined ? {} : { redis }),
    errorResponseBuilder: (request, context) => {
      const contract = request.routeOptions.config.contract
      const error = new RateLimited(contract !== undefined && budgetOf(contract) === 'runs' ? 'run' : 'API', context.max, 'minute')
      return retryAfter(error, Math.max(1, Math.ceil(context.ttl / 1000)))
    }
  })
  // One counter per caller for all its runs, and one for all its other calls: a limit configured
  // on each route would give every route a store (and so a budget) of its own.
  const runs = app.rateLimit({ max: options.runsPerMinute, timeWindow: WINDOW_MS, keyGenerator: (request) => `${subjectOf(request)}:runs` })
  const calls = app.rateLimit({ max: options.callsPerMinute, timeWindow: WINDOW_MS, keyGenerator: (request) => `${subjectOf(request)}:calls` })
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
