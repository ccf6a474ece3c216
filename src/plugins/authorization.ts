// Refuses callers without a proven identity, then applies the policy before anything is
// forwarded: runs and lists by capsule or pipeline, per-computation calls by who started the
// computation, audit queries by audit:read (granted to the audit admin key). A computation the
// caller may not see is answered as missing, so its id cannot be probed. (Who started a run is recorded, and
// a list cut to what the caller may read, by the route handlers: see plugins/route-handlers.ts.)
// Every route has a contract or is operational (see plugins/route-contracts.ts): none is served
// unchecked by omission.
import { trace } from '@opentelemetry/api'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { mountedDataAssets, type RouteContract } from '../contract/route-contract.js'
import { AuditKeyRequired, AuditQueriesDisabled, ComputationNotFound, Forbidden, Unauthenticated } from '../errors.js'
import { provenIdentity } from '../identity/caller.js'
import type { Identity } from '../identity/identity.js'
import type { ComputationAction, Decision, MountDecision, Policy, Target, TargetAction } from '../policy/policy.js'
import { canonicalId, listTargetOf, runTargetOf } from '../policy/targets.js'
import type { OwnershipStore } from '../store/store.js'
import { inSpan } from '../telemetry/spans.js'
import { routeOf } from '../contract/route-of-request.js'

export interface AuthorizationOptions {
  policy: Policy
  store: OwnershipStore
  /** Whether an audit admin key is configured: an unproven caller of the audit trail is told to send it, or that queries are off. */
  auditAdminKey: boolean
}

function decided (request: FastifyRequest, decision: Decision): void {
  request.audit.decision = { outcome: decision.allowed ? 'allow' : 'deny', reason: decision.reason }
  // The policy span (see below); the reason stays in the audit record, which is where it is kept safe.
  trace.getActiveSpan()?.setAttribute('policy.outcome', request.audit.decision.outcome)
}

async function authorization (app: FastifyInstance, options: AuthorizationOptions): Promise<void> {
  const { policy, store } = options

  // After the audit's own onRequest, so a refused caller is still audited. Nothing to wait for:
  // Fastify's callback, not a promise.
  app.addHook('onRequest', (request, _reply, done) => { done(unprovenRefusal(request)) })

  /** What a request whose route needs a caller, and which proves none, is refused with. */
  function unprovenRefusal (request: FastifyRequest): Error | undefined {
    const { contract } = routeOf(request).config
    const { caller } = request
    if (contract === undefined || caller === null || caller.proven) return undefined
    const { failure } = caller
    // A store or JWKS outage is not a denial: the record's errorCode tells it apart.
    if (!(failure instanceof Unauthenticated)) return failure
    request.audit.decision = { outcome: 'deny', reason: `no proven caller: ${failure.message}` }
    if (contract.action !== 'audit:read') return failure
    // The audit trail's own answer says how it can be read.
    return options.auditAdminKey ? new AuditKeyRequired() : new AuditQueriesDisabled()
  }

  /**
   * Decides `action` on one computation, and the data assets it mounts; throws 404 when the
   * caller may not see it, 403 when it may not act.
   */
  async function onComputation (request: FastifyRequest, caller: Identity, action: ComputationAction, id: string, refused: string, mounts: readonly string[] = []): Promise<void> {
    const everywhere = policy.onAnyComputation(caller, action)
    const owner = everywhere === undefined ? (await store.ownersOf([id])).get(id) : undefined
    const decision = everywhere ?? policy.onComputation(caller, action, owner)
    decided(request, decision)
    if (!decision.visible) throw new ComputationNotFound(id)
    if (!decision.allowed) throw new Forbidden(refused, `computation ${id}`)
    if (mounts.length > 0) onMounts(request, decision, policy.mayMountOnComputation(caller, owner, mounts))
  }

  /** Records the decision on the data assets a granted call mounts; throws 403 when one is not granted. */
  function onMounts (request: FastifyRequest, granted: Decision, mounting: MountDecision): void {
    decided(request, mounting.allowed ? { allowed: true, reason: `${granted.reason}; ${mounting.reason}` } : mounting)
    if (!mounting.allowed) throw new Forbidden('mount', `data asset ${String(mounting.refused)}`)
  }

  /** Decides a run or a list on its capsule or pipeline; throws 403 when the policy does not grant it. */
  function onTarget (request: FastifyRequest, caller: Identity, action: TargetAction, target: Target): Decision {
    const decision = policy.onTarget(caller, action, target)
    decided(request, decision)
    if (!decision.allowed) throw new Forbidden(action, `${target.kind} ${target.id}`)
    return decision
  }

  /** A caller granted audit:read (as the audit admin key is); throws 403 otherwise. */
  function onAuditTrail (request: FastifyRequest): void {
    const decision = policy.mayReadAudit(provenIdentity(request.caller))
    decided(request, decision)
    if (!decision.allowed) throw new Forbidden('audit:read', 'the audit trail')
  }

  app.addHook('preHandler', async (request) => {
    const { contract } = routeOf(request).config
    if (contract === undefined) return
    await inSpan('policy', async (span) => {
      span.setAttribute('policy.action', contract.action)
      await decide(request, contract)
    })
  })

  /** Decides the request's action; throws when it is refused. */
  async function decide (request: FastifyRequest, contract: RouteContract): Promise<void> {
    if (contract.action === 'audit:read') {
      onAuditTrail(request)
      return
    }
    const caller = provenIdentity(request.caller)
    if (contract.action === 'run') {
      const target = runTargetOf(request.body as object)
      const granted = onTarget(request, caller, contract.action, target)
      const mounts = mountedDataAssets(contract, request.body)
      if (mounts.length > 0) onMounts(request, granted, policy.mayMountOnRun(caller, target, mounts))
      // Resuming builds on another computation's work: the caller must be allowed to read it.
      const resumed = (request.body as { resume_run_id?: string | null }).resume_run_id
      if (typeof resumed === 'string') await onComputation(request, caller, 'read', canonicalId(resumed), 'resume from')
    } else if (contract.action === 'list') {
      onTarget(request, caller, contract.action, listTargetOf(request.params as object))
    } else {
      await onComputation(request, caller, contract.action, canonicalId((request.params as { computation_id: string }).computation_id), contract.action, mountedDataAssets(contract, request.body))
    }
  }
}

export default fp(authorization, { name: 'authorization', fastify: '5.x', dependencies: ['route-contracts', 'identity', 'audit'] })
