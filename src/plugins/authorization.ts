// Refuses callers without a proven identity, then applies the policy before anything is
// forwarded: runs and lists by capsule or pipeline, per-computation calls by who started the
// computation, audit queries by the audit admin key or audit:read. A computation the caller may
// not see is answered as missing, so its id cannot be probed. (Who started a run is recorded, and
// a list cut to what the caller may read, by the route handlers: see plugins/route-handlers.ts.)
// Every route has a contract or is operational (see plugins/route-contracts.ts): none is served
// unchecked by omission.
import { createHash, timingSafeEqual } from 'node:crypto'
import { trace } from '@opentelemetry/api'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { mountedDataAssets, type RouteContract } from '../contract/route-contract.js'
import { AuditKeyRequired, AuditQueriesDisabled, ComputationNotFound, Forbidden, Unauthenticated } from '../errors.js'
import type { Identity } from '../identity/identity.js'
import type { ComputationAction, Decision, MountDecision, Policy, Target, TargetAction } from '../policy/policy.js'
import { canonicalId, listTargetOf, runTargetOf } from '../policy/targets.js'
import type { OwnershipStore } from '../store/store.js'
import { inSpan } from '../telemetry/spans.js'

export interface AuthorizationOptions {
  policy: Policy
  store: OwnershipStore
  /** The audit admin key, which may read the audit trail (and do nothing else); undefined for none. */
  adminKey?: string
}

const digest = (value: string): Buffer => createHash('sha256').update(value).digest()

function decided (request: FastifyRequest, decision: Decision): void {
  request.audit.decision = { outcome: decision.allowed ? 'allow' : 'deny', reason: decision.reason }
  // The policy span (see below); the reason stays in the audit record, which is where it is kept safe.
  trace.getActiveSpan()?.setAttribute('policy.outcome', request.audit.decision.outcome)
}

async function authorization (app: FastifyInstance, options: AuthorizationOptions): Promise<void> {
  const { policy, store } = options
  const adminKey = options.adminKey === undefined ? undefined : digest(options.adminKey)

  // After the audit's own onRequest, so a refused caller is still audited.
  app.addHook('onRequest', async (request) => {
    const { contract } = request.routeOptions.config
    // An audit query may come with the admin key instead of a caller: decided with the query.
    if (contract === undefined || contract.action === 'audit:read') return
    if (request.identity !== null) return
    const failure = request.identityFailure as Error
    // A store or JWKS outage is not a denial: the record's errorCode tells it apart.
    if (failure instanceof Unauthenticated) request.audit.decision = { outcome: 'deny', reason: `no proven caller: ${failure.message}` }
    throw failure
  })

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

  /** The audit admin key, or a caller granted audit:read; throws 401 or 403 otherwise. */
  function onAuditTrail (request: FastifyRequest): void {
    // An outage while proving the caller (store, JWKS) is answered as such, not as a refusal.
    if (request.identity === null && request.identityFailure !== null && !(request.identityFailure instanceof Unauthenticated)) throw request.identityFailure
    const presented = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1]
    const byKey = adminKey !== undefined && presented !== undefined && timingSafeEqual(digest(presented), adminKey)
    const granted = request.identity === null ? undefined : policy.mayReadAudit(request.identity)
    request.audit.decision = byKey
      ? { outcome: 'allow', reason: 'audit admin key' }
      : { outcome: granted?.allowed === true ? 'allow' : 'deny', reason: granted?.reason ?? 'no audit admin key and no proven caller' }
    if (byKey || granted?.allowed === true) return
    if (granted !== undefined) throw new Forbidden('audit:read', 'the audit trail')
    if (adminKey === undefined) throw new AuditQueriesDisabled()
    throw new AuditKeyRequired()
  }

  app.addHook('preHandler', async (request) => {
    const { contract } = request.routeOptions.config
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
    const caller = request.identity as Identity
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
