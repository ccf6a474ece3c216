// The handler of every mirrored route, chosen by its contract's action. A run claims its
// Idempotency-Key, is forwarded with its answer read whole (to record who started the
// computation and to keep the answer for replay), then settles the key; a list is forwarded with
// its answer cut to what the caller may read; anything else is forwarded as it is.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { provenIdentity } from '../identity/caller.js'
import type { Identity } from '../identity/identity.js'
import { ownerRowFor, readableOnly, startedRunOf } from '../policy/ownership.js'
import type { Policy } from '../policy/policy.js'
import { listTargetOf, runTargetOf } from '../policy/targets.js'
import type { OwnershipStore } from '../store/store.js'
import type { BufferedAnswer } from '../upstream/coalesce.js'
import type { AnswerHandler } from '../upstream/forward.js'
import type { ForwardHandler } from './upstream.js'
import { routeOf } from '../contract/route-of-request.js'

export interface RouteHandlersOptions {
  policy: Policy
  store: OwnershipStore
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The route handler of every mirrored endpoint. */
    forwardToCodeOcean: ForwardHandler
  }
}

async function routeHandlers (app: FastifyInstance, options: RouteHandlersOptions): Promise<void> {
  const { policy, store } = options

  /** Records who started the computation a run's answer names; the answer itself is sent unchanged. */
  const recordOwner = (request: FastifyRequest, caller: Identity): AnswerHandler => async (answer) => {
    const run = startedRunOf(answer)
    if (run.kind === 'refused') return answer.body
    if (run.kind === 'unnamed') {
      request.log.error('Code Ocean answered a run without a computation id: its owner is not recorded')
      request.audit.errorClass = 'owner_unrecorded'
      return answer.body
    }
    request.audit.createdComputationId = run.computationId
    try {
      await store.recordOwner(ownerRowFor(run.computationId, caller, runTargetOf(request.body as object), new Date()))
    } catch (error) {
      // The run exists either way: its id must reach the caller, and is in the run's audit record.
      request.log.error({ err: error, computationId: run.computationId }, 'the owner of a new computation could not be recorded')
      request.audit.errorClass = 'owner_unrecorded'
    }
    return answer.body
  }

  async function run (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const claim = await app.runKeys.claim(request, reply)
    if (claim.kind === 'replayed') return claim.reply
    const owner = recordOwner(request, provenIdentity(request.caller))
    if (claim.kind === 'unkeyed') return await app.forward(request, reply, owner)
    let captured: BufferedAnswer | undefined
    try {
      return await app.forward(request, reply, async (answer) => {
        captured = answer
        return await owner(answer)
      })
    } finally {
      claim.settle(captured)
    }
  }

  async function list (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const caller = provenIdentity(request.caller)
    const target = listTargetOf(request.params as object)
    if (policy.readsAllOf(caller, target)) return await app.forward(request, reply)
    return await app.forward(request, reply, async (answer) => await readableOnly(answer, caller, target, policy, async (ids) => await store.ownersOf(ids)))
  }

  const handler: ForwardHandler = async (request, reply) => {
    switch (routeOf(request).config.contract?.action) {
      case 'run': return await run(request, reply)
      case 'list': return await list(request, reply)
      default: return await app.forward(request, reply)
    }
  }
  app.decorate('forwardToCodeOcean', handler)
}

export default fp(routeHandlers, { name: 'route-handlers', fastify: '5.x', dependencies: ['identity', 'audit', 'authorization', 'idempotency', 'upstream'] })
