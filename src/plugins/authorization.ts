// Refuses callers without a proven identity, then applies the policy before anything is
// forwarded: runs and lists by capsule or pipeline, per-computation calls by who started the
// computation, audit queries by audit:read (granted to the audit admin key). A computation the
// caller may not see is answered as missing, so its id cannot be probed. Afterwards it records
// who started a run, and drops from a list what the caller may not see. Every route has a contract or is
// operational (see plugins/route-contracts.ts): none is served unchecked by omission.
import { trace } from '@opentelemetry/api'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { RouteContract } from '../contract/route-contract.js'
import { AuditKeyRequired, AuditQueriesDisabled, ComputationNotFound, Forbidden, Unauthenticated, UpstreamProtocolError } from '../errors.js'
import { provenIdentity } from '../identity/caller.js'
import type { Identity } from '../identity/identity.js'
import { jsonArrayElements } from '../policy/json-array.js'
import type { ComputationAction, Decision, Policy, Target, TargetAction } from '../policy/policy.js'
import { canonicalId, listTargetOf, runTargetOf } from '../policy/targets.js'
import type { Store } from '../store/store.js'
import { inSpan } from '../telemetry/spans.js'
import type { AnswerFilter } from '../upstream/forward.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** Set for answers that must be read whole before they are sent (see forward.ts). */
    answerFilter: AnswerFilter | null
  }
}

export interface AuthorizationOptions {
  policy: Policy
  store: Store
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
  app.decorateRequest('answerFilter', null)

  // After the audit's own onRequest, so a refused caller is still audited.
  app.addHook('onRequest', async (request) => {
    const { contract } = request.routeOptions.config
    const { caller } = request
    if (contract === undefined || caller === null || caller.proven) return
    const { failure } = caller
    // A store or JWKS outage is not a denial: the record's errorCode tells it apart.
    if (!(failure instanceof Unauthenticated)) throw failure
    request.audit.decision = { outcome: 'deny', reason: `no proven caller: ${failure.message}` }
    if (contract.action !== 'audit:read') throw failure
    // The audit trail's own answer says how it can be read.
    throw options.auditAdminKey ? new AuditKeyRequired() : new AuditQueriesDisabled()
  })

  /** Decides `action` on one computation; throws 404 when the caller may not see it, 403 when it may not act. */
  async function onComputation (request: FastifyRequest, caller: Identity, action: ComputationAction, id: string, refused: string): Promise<void> {
    const decision = policy.onAnyComputation(caller, action) ??
      policy.onComputation(caller, action, (await store.ownersOf([id])).get(id))
    decided(request, decision)
    if (!decision.visible) throw new ComputationNotFound(id)
    if (!decision.allowed) throw new Forbidden(refused, `computation ${id}`)
  }

  /** Decides a run or a list on its capsule or pipeline; throws 403 when the policy does not grant it. */
  function onTarget (request: FastifyRequest, caller: Identity, action: TargetAction, target: Target): void {
    const decision = policy.onTarget(caller, action, target)
    decided(request, decision)
    if (!decision.allowed) throw new Forbidden(action, `${target.kind} ${target.id}`)
  }

  /** A caller granted audit:read (as the audit admin key is); throws 403 otherwise. */
  function onAuditTrail (request: FastifyRequest): void {
    const decision = policy.mayReadAudit(provenIdentity(request.caller))
    decided(request, decision)
    if (!decision.allowed) throw new Forbidden('audit:read', 'the audit trail')
  }

  app.addHook('preHandler', async (request) => {
    const { contract } = request.routeOptions.config
    if (contract === undefined) return
    await inSpan('policy', async (span) => {
      span.setAttribute('policy.action', contract.action)
      await decide(request, contract)
    })
  })

  /** Decides the request's action, and arranges for its answer to be filtered where that is needed. */
  async function decide (request: FastifyRequest, contract: RouteContract): Promise<void> {
    if (contract.action === 'audit:read') {
      onAuditTrail(request)
      return
    }
    const caller = provenIdentity(request.caller)
    if (contract.action === 'run') {
      const target = runTargetOf(request.body as object)
      onTarget(request, caller, contract.action, target)
      // Resuming builds on another computation's work: the caller must be allowed to read it.
      const resumed = (request.body as { resume_run_id?: string | null }).resume_run_id
      if (typeof resumed === 'string') await onComputation(request, caller, 'read', canonicalId(resumed), 'resume from')
      request.answerFilter = recordOwner(request, caller, target, store)
    } else if (contract.action === 'list') {
      const target = listTargetOf(request.params as object)
      onTarget(request, caller, contract.action, target)
      if (!policy.readsAllOf(caller, target)) request.answerFilter = readableOnly(caller, target, policy, store)
    } else {
      await onComputation(request, caller, contract.action, canonicalId((request.params as { computation_id: string }).computation_id), contract.action)
    }
  }
}

/** Remembers who started a run, so later calls on the computation can be decided. */
function recordOwner (request: FastifyRequest, caller: Identity, target: Target, store: Store): AnswerFilter {
  return async ({ status, body }) => {
    if (status !== 200) return body
    let id: unknown
    try {
      id = (JSON.parse(body.toString('utf8')) as { id?: unknown }).id
    } catch {}
    if (typeof id !== 'string' || id === '') {
      request.log.error('Code Ocean answered a run without a computation id: its owner is not recorded')
      request.audit.errorClass = 'owner_unrecorded'
      return body
    }
    request.audit.createdComputationId = id
    try {
      await store.recordOwner({
        computationId: canonicalId(id),
        subject: caller.subject,
        groups: caller.groups,
        capsuleId: target.kind === 'capsule' ? target.id : null,
        pipelineId: target.kind === 'pipeline' ? target.id : null,
        createdAt: new Date().toISOString()
      })
    } catch (error) {
      // The run exists either way: its id must reach the caller, and is in the run's audit record.
      request.log.error({ err: error, computationId: id }, 'the owner of a new computation could not be recorded')
      request.audit.errorClass = 'owner_unrecorded'
    }
    return body
  }
}

/** Keeps the list elements the caller may read, each exactly as Code Ocean wrote it. */
function readableOnly (caller: Identity, target: Target, policy: Policy, store: Store): AnswerFilter {
  return async ({ status, body }) => {
    // Errors pass as they are: only a list of computations has anything to hide.
    if (status !== 200) return body
    const elements = jsonArrayElements(body.toString('utf8'))
    if (elements === undefined) throw new UpstreamProtocolError()
    const idOf = (value: unknown): string | undefined => {
      const id = (value as { id?: unknown } | null)?.id
      return typeof id === 'string' ? canonicalId(id) : undefined
    }
    const owners = await store.ownersOf(elements.flatMap((element) => idOf(element.value) ?? []))
    const visible = elements.filter((element) => {
      const id = idOf(element.value)
      // Read, not merely visible: an element carries everything a get would answer.
      return id !== undefined && policy.onComputation(caller, 'read', owners.get(id), target).allowed
    })
    return Buffer.from(`[${visible.map((element) => element.text).join(',')}]`)
  }
}

export default fp(authorization, { name: 'authorization', fastify: '5.x', dependencies: ['route-contracts', 'identity', 'audit'] })
