// Wires the Code Ocean client into the app: `app.forward` makes a request's call (with an answer
// handler where the route needs one: see plugins/route-handlers.ts) and `app.waitForComputation`
// answers the wait route; polls of one computation are shared, remembered answers are dropped
// after a change through the proxy. It creates the client (pool, limits, breaker, retries) and
// closes it, with the waiters, when the app closes.
import { randomUUID } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { canonicalId } from '../policy/targets.js'
import { createUpstreamClient, type UpstreamClient, type UpstreamOptions } from '../upstream/client.js'
import { Coalescer, type BufferedAnswer } from '../upstream/coalesce.js'
import { ComputationWatcher } from '../upstream/computation-watch.js'
import { fetchShareable, forwardToCodeOcean, sendBuffered, type AnswerHandler, type Forwarder } from '../upstream/forward.js'
import { upstreamRequestHeaders, USER_AGENT } from '../upstream/headers.js'
import { upstreamPath } from '../upstream/url.js'
import { isTerminal, PASSING_TROUBLE, TroubledPoll, waitAnswer } from '../upstream/wait.js'
import { routeOf } from '../contract/route-of-request.js'

export interface UpstreamPluginOptions {
  /** The client's settings: the plugin creates it, reports it in the metrics and closes it with the app. */
  client: Omit<UpstreamOptions, 'observe'>
  polling: { coalesce: boolean, terminalCacheMs: number, waitIntervalMs: number, waitMaxMs: number }
  /** Pass the caller's traceparent and tracestate on to Code Ocean (false when the calls are traced). */
  callerTraceContext: boolean
}

/**
 * Resolves to the reply (an async handler that has sent must return it). Typed `any` so one
 * handler fits every route's type-provider generics; what it sends is upstream's, not a schema's.
 */
export type ForwardHandler = (request: FastifyRequest, reply: FastifyReply) => Promise<any>

/** Forwards a request's call, its answer through `onAnswer` where one is given (see forward.ts). */
export type Forward = (request: FastifyRequest, reply: FastifyReply, onAnswer?: AnswerHandler) => Promise<FastifyReply>

declare module 'fastify' {
  interface FastifyInstance {
    /** The client to Code Ocean (readiness reads its circuit). */
    upstream: UpstreamClient
    forward: Forward
    /** The handler of GET /computations/{id}/wait. */
    waitForComputation: ForwardHandler
  }
}

const COMPUTATION = '/api/v1/computations/:computation_id'

async function upstreamPlugin (app: FastifyInstance, options: UpstreamPluginOptions): Promise<void> {
  const { polling } = options
  const upstream = createUpstreamClient({ ...options.client, observe: app.metrics.upstreamCallFinished.bind(app.metrics) })
  app.metrics.watchUpstream({
    connections: () => upstream.connections(),
    calls: () => ({ active: upstream.limiter.active, queued: upstream.limiter.queued }),
    circuit: () => ({ state: upstream.breaker.state, openings: upstream.breaker.openings })
  })
  app.decorate('upstream', upstream)
  const polls = new Coalescer({ terminalCacheMs: polling.terminalCacheMs, isTerminal })
  const forwarder: Forwarder = { upstream, polls: polling.coalesce ? polls : undefined, callerTraceContext: options.callerTraceContext }

  /** The poll the wait route makes for all its waiters, shared with callers' identical polls. */
  const pollComputation = async (id: string): Promise<BufferedAnswer> => {
    const call = {
      operation: 'waitForComputation',
      method: 'GET' as const,
      path: upstreamPath(upstream.target, COMPUTATION, { computation_id: id }),
      // Made for every waiter at once, so it names the proxy rather than any one of them.
      headers: upstreamRequestHeaders({}, { authorization: upstream.credential.authorization(), requestId: randomUUID(), hasBody: false, agentId: USER_AGENT, callerTraceContext: false })
    }
    const { answer } = await polls.run(call.path, async () => (await fetchShareable(upstream, call, { retries: true, log: app.log })).answer)
    if (PASSING_TROUBLE.has(answer.status)) throw new TroubledPoll(answer)
    return answer
  }
  const watcher = new ComputationWatcher({ intervalMs: polling.waitIntervalMs, fetch: pollComputation, isTerminal })
  app.metrics.watchWaits(() => ({ callers: watcher.waiters, computations: watcher.watching }))

  const forward: Forward = async (request, reply, onAnswer) => {
    try {
      return await forwardToCodeOcean(forwarder, request, reply, onAnswer)
    } finally {
      // A rename or delete through the proxy makes any remembered answer for it stale.
      const id = (request.params as { computation_id?: string }).computation_id
      if (routeOf(request).config.contract?.mutates === true && id !== undefined) {
        // Every spelling of the id: the poll keys keep each caller's, the invalidation ignores case.
        polls.invalidate(upstreamPath(upstream.target, COMPUTATION, { computation_id: id }))
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
    const started = performance.now()
    request.audit.upstreamStarted()
    try {
      const answer = waitAnswer(await watcher.wait(id, timeoutMs, left.signal), timeoutMs, reply.raw.destroyed)
      request.audit.answerSource = 'coalesced'
      if (answer.kind === 'left') return reply
      if (answer.kind === 'error') throw answer.error
      // The waiter made no call of its own: the watcher's polls answered it.
      request.audit.recordUpstream({ kind: 'answer', status: answer.answer.status, source: 'coalesced', attempts: 0, durationMs: performance.now() - started, sent: false })
      return await sendBuffered(answer.answer, request, reply, answer.status === undefined ? {} : { status: answer.status })
    } finally {
      request.audit.upstreamSettled()
    }
  }

  app.decorate('forward', forward)
  app.decorate('waitForComputation', wait)
  // Waiters are released before the server waits for in-flight requests to end.
  app.addHook('preClose', async () => { watcher.close() })
  app.addHook('onClose', async () => {
    await upstream.close()
  })
}

export default fp(upstreamPlugin, { name: 'upstream', fastify: '5.x', dependencies: ['identity', 'audit'] })
