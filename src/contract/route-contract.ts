// What each route is, stated once beside its declaration and read by every stage of the request
// pipeline: the policy action and the resource it is decided on, whether the call changes
// something at Code Ocean (durable audit before forwarding, a cache to invalidate), whether it
// may be retried or shared with identical concurrent polls, which budget its rate limit draws
// on, and which of its values are confidential. A route has a contract or is explicitly
// operational (health, metrics, documentation); the app refuses to start otherwise (see
// plugins/route-contracts.ts), so no route can be forwarded without a caller check by omission.
import type { ComputationAction, TargetAction } from '../policy/policy.js'

/** Request values that may be confidential: kept in audit records only as HMACs. */
export type SensitiveValue =
  /** The `name` query parameter (a rename). */
  | 'query.name'
  /** The `path` query parameter (a result file). */
  | 'query.path'
  /** The body's `path` (a results folder). */
  | 'body.path'
  /** A run's parameter values: `parameters`, `named_parameters` and each process's. */
  | 'body.parameters'

/** What the policy decides a route's call on, and where the request names it. */
export type Decided =
  /** A run: the capsule or pipeline its body names (and a computation it resumes, read). */
  | { action: Extract<TargetAction, 'run'>, resource: 'body: capsule_id | pipeline_id' }
  /** A list: the capsule or pipeline its path names. */
  | { action: Extract<TargetAction, 'list'>, resource: 'path: capsule_id | pipeline_id' }
  /** One computation, by the id its path names (and by who started it). */
  | { action: ComputationAction, resource: 'path: computation_id' }
  /** The proxy's own audit trail. */
  | { action: 'audit:read', resource: 'audit trail' }

/** Where a route's request names the data assets it mounts (the policy decides each). */
export type Mounts =
  /** A run's `data_assets`: `[{ id, mount }]`. */
  | 'body.data_assets'
  /** An attach's body itself: `[{ id, mount }]`. */
  | 'body'

export type RouteContract = Decided & {
  /** The operation's name: its OpenAPI operationId, its audit `action` and its metrics label. */
  readonly operation: string
  /** Changes something at Code Ocean: its `received` record is durable before it is forwarded. */
  readonly mutates: boolean
  /** Retried on connect errors, 429 and 502–504 within the budget (never a call that mutates). */
  readonly retries: boolean
  /** A poll of one computation: identical concurrent ones share one upstream call. */
  readonly coalesces: boolean
  readonly sensitive: readonly SensitiveValue[]
  /** The data assets the call mounts, checked against the policy's `data_assets`; undefined for none. */
  readonly mounts?: Mounts
}

/** The ids of the data assets a validated request mounts, as the contract says where they are. */
export function mountedDataAssets (contract: RouteContract, body: unknown): string[] {
  if (contract.mounts === undefined) return []
  const list = contract.mounts === 'body' ? body : (body as { data_assets?: unknown } | null)?.data_assets
  if (!Array.isArray(list)) return []
  return list.flatMap((item) => typeof (item as { id?: unknown } | null)?.id === 'string' ? [(item as { id: string }).id] : [])
}

/**
 * The rate-limit budget a call draws on: runs are scarce and billable, so they have their own;
 * every other API call shares one. Audit queries, an operator's tool, draw on none.
 */
export function budgetOf (contract: RouteContract): 'runs' | 'calls' | undefined {
  if (contract.action === 'audit:read') return undefined
  return contract.action === 'run' ? 'runs' : 'calls'
}

/** A contract with the defaults spelled out: a read that is neither retried nor shared, with nothing confidential. */
export function routeContract (contract: Decided & { operation: string } & Partial<Omit<RouteContract, 'operation' | 'action' | 'resource'>>): RouteContract {
  const complete: RouteContract = { mutates: false, retries: false, coalesces: false, sensitive: [], ...contract }
  if (complete.mutates && (complete.retries || complete.coalesces)) {
    throw new TypeError(`${complete.operation}: a call that changes something is neither retried nor shared`)
  }
  return Object.freeze(complete)
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** What the route is (see RouteContract); every route has one unless it is operational. */
    contract?: RouteContract
    /** An operator's endpoint (health, metrics, documentation): neither identified, authorized nor audited. */
    operational?: boolean
    /** Answers even when the process is overloaded (liveness, metrics). */
    answersUnderPressure?: boolean
  }
}
