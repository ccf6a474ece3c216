// Wires the Code Ocean client into the app: routes get `app.forwardToCodeOcean` as their
// handler and the wait route `app.waitForComputation`; polls of one computation are shared,
// and the pool, the token watcher and the waiters close with the app.
import { randomUUID } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { ProxyUnavailable, UpstreamTimeout } from '../errors.js'
import { canonicalId } from '../policy/targets.js'
import type { UpstreamClient } from '../upstream/client.js'
import { Coalescer, type BufferedAnswer } from '../upstream/coalesce.js'
import { ComputationWatcher } from '../upstream/computation-watch.js'
import { fetchWhole, forwardToCodeOcean, pollKey, sendBuffered, UpstreamCallFailed, type Forwarder } from '../upstream/forward.js'
import { upstreamRequestHeaders, USER_AGENT } from '../upstream/headers.js'
import type { RetryPolicy } from '../upstream/retry.js'
import { upstreamPath } from '../upstream/url.js'

export interface UpstreamPluginOptions {
  upstream: UpstreamClient
  retry: RetryPolicy
  polling: { coalesce: boolean, terminalCacheMs: number, waitIntervalMs: number, waitMaxMs: number }
  /** Pass the caller's traceparent and tracestate on to Code Ocean (false when the calls are traced). */
  callerTraceContext: boolean
}

/**
 * Resolves to the reply (an async handler that has sent must return it). Typed `any` so one
 * handler fits every route's type-provider generics; what it sends is upstream's, not a schema's.
 */
export type ForwardHandler = (request: FastifyRequest, reply: FastifyReply) => Promise<any>

declare module 'fastify' {
  interface FastifyInstance {
    /** The route handler of every mirrored endpoint. */
    forwardToCodeOcean: ForwardHandler
    /** The handler of GET /computations/{id}/wait. */
    waitForComputation: ForwardHandler
  }
}

const COMPUTATION = '/api/v1/computations/:computation_id'
const TERMINAL_STATES = new Set(['completed', 'failed'])
/** Answers that say "not now" rather than anything about the computation: a wait polls on through them. */
const PASSING_TROUBLE = new Set([429, 500, 502, 503, 504])

/** A poll Code Ocean answered with passing trouble; passed on only if the wait ends on it. */
class TroubledPoll extends Error {
  readonly answer: BufferedAnswer
  constructor (answer: BufferedAnswer) {
    super(`Code Ocean answered ${answer.status}`)
    this.answer = answer
  }
}

/** A 200 answer for a computation that will not change state again. */
export function isTerminal (answer: BufferedAnswer): boolean {
  if (answer.status !== 200) return false
  try {
    return TERMINAL_STATES.has(String((JSON.parse(answer.body.toString('utf8')) as { state?: unknown }).state))
  } catch {
    return false
  }
}

async function upstreamPlugin (app: FastifyInstance, options: UpstreamPluginOptions): Promise<void> {
  const { upstream, polling } = options
  const polls = new Coalescer({ terminalCacheMs: polling.terminalCacheMs, isTerminal })
  const forwarder: Forwarder = { upstream, retry: options.retry, polls: polling.coalesce ? polls : undefined, callerTraceContext: options.callerTraceContext }

  /** The poll the wait route makes for all its waiters, shared with callers' identical polls. */
  const pollComputation = async (id: string): Promise<BufferedAnswer> => {
    const call = {
      operation: 'waitForComputation',
      method: 'GET' as const,
      path: upstreamPath(upstream.target, COMPUTATION, { computation_id: id }),
      // Made for every waiter at once, so it names the proxy rather than any one of them.
      headers: upstreamRequestHeaders({}, { authorization: upstream.credential.authorization(), requestId: randomUUID(), hasBody: false, agentId: USER_AGENT, callerTraceContext: false })
    }
    const { answer } = await polls.run(pollKey(call), async () => await fetchWhole(forwarder, call, app.log))
    if (PASSING_TROUBLE.has(answer.status)) throw new TroubledPoll(answer)
    return answer
  }
  const watcher = new ComputationWatcher({ intervalMs: polling.waitIntervalMs, fetch: pollComputation, isTerminal })
  app.metrics.watchWaits(() => ({ callers: watcher.waiters, computations: watcher.watching }))

  const forward: ForwardHandler = async (request, reply) => {
    try {
      return await forwardToCodeOcean(forwarder, request, reply)
    } finally {
      // A rename or delete through the proxy makes any remembered answer for it stale.
      const id = (request.params as { computation_id?: string }).computation_id
      if (request.routeOptions.config.contract?.mutates === true && id !== undefined) {
        for (const spelling of new Set([id, canonicalId(id)])) polls.invalidate(upstreamPath(upstream.target, COMPUTATION, { computation_id: spelling }))
      }
    }
  }

  const wait: ForwardHandler = async (request, reply) => {
    const id = canonicalId((request.params as { computation_id: string }).computation_id)
    const seconds = (request.query as { timeout?: string }).timeout
    const timeoutMs = Math.min(seconds === undefined ? polling.waitMaxMs : Number(seconds) * 1000, polling.waitMaxMs)
    const left = new AbortController()
    reply.raw.once('close', () => { left.abort() })
    // A caller who left while it was being authorized is not waited for at all.
    if (reply.raw.destroyed) left.abort()
    request.audit.upstreamStarted()
    try {
      const outcome = await watcher.wait(id, timeoutMs, left.signal)
      request.audit.answerSource = 'coalesced'
      if (outcome.kind === 'terminal' || outcome.kind === 'answer') return await sendBuffered(outcome.answer, request, reply)
      if (reply.raw.destroyed) return reply
      // Not finished yet (timeout, or the proxy is closing): 202 with the computation as it last was.
      if (outcome.latest !== undefined) return await sendBuffered(outcome.latest, request, reply, 202)
      if (outcome.kind === 'closed') throw new ProxyUnavailable()
      // Code Ocean never answered well in all that time: its last answer, its last failure, or a timeout if it just hung.
      if (outcome.error instanceof TroubledPoll) return await sendBuffered(outcome.error.answer, request, reply)
      throw outcome.error instanceof UpstreamCallFailed ? outcome.error.failure.error : new UpstreamTimeout(timeoutMs)
    } finally {
      request.audit.upstreamSettled()
    }
  }

  app.decorate('forwardToCodeOcean', forward)
  app.decorate('waitForComputation', wait)
  // Waiters are released before the server waits for in-flight requests to end.
  app.addHook('preClose', async () => { watcher.close() })
  app.addHook('onClose', async () => {
    await upstream.close()
  })
}

export default fp(upstreamPlugin, { name: 'upstream', fastify: '5.x', dependencies: ['identity', 'audit', 'authorization'] })
