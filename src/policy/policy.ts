// What a caller may do: the policy's rules applied to one call. Runs and lists are decided on
// the capsule or pipeline named; per-computation calls on who started the computation (its
// recorded owner) and the scope a rule grants. Every decision carries a reason for the audit.
import { KEY_NAMESPACE, type Identity } from '../identity/identity.js'
import type { OwnerRow } from '../store/store.js'
import type { Action, PolicyDocument, PolicyRule, Scope } from './policy-file.js'
import { canonicalId, type Target } from './targets.js'

export type { Target }

export type TargetAction = 'run' | 'list'
export type ComputationAction = 'read' | 'rename' | 'delete' | 'attach'
const COMPUTATION_ACTIONS: readonly ComputationAction[] = ['read', 'rename', 'delete', 'attach']

export interface Decision {
  allowed: boolean
  reason: string
}

export interface MountDecision extends Decision {
  /** The first data asset no rule lets the caller mount, when refused. */
  refused?: string
}

export interface ComputationDecision extends Decision {
  /** Whether the caller may know the computation exists; if not, it is answered as missing. */
  visible: boolean
}

/** Without a policy file: anyone authenticated runs anything and acts on their own computations. */
export const DEFAULT_POLICY: PolicyDocument = {
  rules: [{
    name: 'default: run anything, act on your own computations',
    subjects: ['*'],
    actions: ['run', 'list', 'read', 'rename', 'delete', 'attach'],
    capsules: ['*'],
    pipelines: ['*'],
    data_assets: ['*'],
    scope: 'own'
  }]
}

interface CompiledRule {
  label: string
  subjects: ReadonlySet<string>
  groups: ReadonlySet<string>
  actions: ReadonlySet<Action>
  capsules: ReadonlySet<string>
  pipelines: ReadonlySet<string>
  dataAssets: ReadonlySet<string>
  scope: Scope
}

function compile (rule: PolicyRule, index: number): CompiledRule {
  const admin = rule.actions.includes('admin')
  return {
    label: rule.name === undefined ? `rule ${index + 1}` : `rule "${rule.name}"`,
    subjects: new Set(rule.subjects),
    groups: new Set(rule.groups),
    actions: new Set(rule.actions),
    // An admin rule reaches everything. Ids are UUIDs, compared in lower case.
    capsules: new Set(admin ? ['*'] : rule.capsules?.map(canonicalId)),
    pipelines: new Set(admin ? ['*'] : rule.pipelines?.map(canonicalId)),
    // A rule mounts no data asset unless it names it (or "*").
    dataAssets: new Set(admin ? ['*'] : rule.data_assets?.map(canonicalId)),
    scope: admin ? 'any' : rule.scope ?? 'own'
  }
}

export class Policy {
  readonly #rules: CompiledRule[]

  constructor (document: PolicyDocument) {
    this.#rules = document.rules.map(compile)
  }

  /** May the caller run, or list the computations of, this capsule or pipeline? */
  onTarget (caller: Identity, action: TargetAction, target: Target): Decision {
    const rule = this.#rulesFor(caller, action).find((candidate) => covers(candidate, target))
    return rule === undefined
      ? { allowed: false, reason: `no rule grants ${action} on ${target.kind} ${target.id}` }
      : { allowed: true, reason: `${action} granted by ${rule.label}` }
  }

  /**
   * May the caller do `action` on a computation? `owner` is its recorded owner (undefined when
   * it was not started through the proxy); `listedUnder` is the capsule or pipeline a list
   * showed it under, which stands in for the target an unrecorded computation lacks.
   */
  onComputation (caller: Identity, action: ComputationAction, owner: OwnerRow | undefined, listedUnder?: Target): ComputationDecision {
    const reaches = (rule: CompiledRule): boolean => this.#reaches(rule, caller, owner, listedUnder)
    const granting = this.#rulesFor(caller, action).find(reaches)
    if (granting !== undefined) return { visible: true, allowed: true, reason: `${action} granted by ${granting.label} (scope ${granting.scope})` }
    const visible = COMPUTATION_ACTIONS.some((other) => this.#rulesFor(caller, other).some(reaches))
    return visible
      ? { visible, allowed: false, reason: `no rule grants ${action} on this computation` }
      : { visible, allowed: false, reason: owner === undefined ? 'not started through the proxy, and no rule reaches it' : 'owned by someone no rule lets the caller reach' }
  }

  /**
   * The decision when a rule grants `action` on every computation (scope any, every capsule and
   * pipeline): then no owner needs looking up, and such callers keep working while the store is down.
   */
  onAnyComputation (caller: Identity, action: ComputationAction): ComputationDecision | undefined {
    const rule = this.#rulesFor(caller, action).find((candidate) => candidate.scope === 'any' && candidate.capsules.has('*') && candidate.pipelines.has('*'))
    return rule === undefined ? undefined : { visible: true, allowed: true, reason: `${action} granted by ${rule.label} (scope any)` }
  }

  /** True when the caller may read every computation of the target: a list needs no filtering. */
  readsAllOf (caller: Identity, target: Target): boolean {
    return this.#rulesFor(caller, 'read').some((rule) => rule.scope === 'any' && covers(rule, target))
  }

  /**
   * May the caller mount these data assets with a run of `target`? Each needs a rule that grants
   * the run and names the data asset (or "*").
   */
  mayMountOnRun (caller: Identity, target: Target, dataAssetIds: readonly string[]): MountDecision {
    return this.#mayMount(caller, 'run', dataAssetIds, (rule) => covers(rule, target))
  }

  /** May the caller attach these data assets to a computation (`owner` as onComputation takes it)? */
  mayMountOnComputation (caller: Identity, owner: OwnerRow | undefined, dataAssetIds: readonly string[]): MountDecision {
    return this.#mayMount(caller, 'attach', dataAssetIds, (rule) => this.#reaches(rule, caller, owner, undefined))
  }

  #mayMount (caller: Identity, action: 'run' | 'attach', dataAssetIds: readonly string[], reaches: (rule: CompiledRule) => boolean): MountDecision {
    const rules = this.#rulesFor(caller, action).filter(reaches)
    const labels = new Set<string>()
    for (const id of dataAssetIds.map(canonicalId)) {
      const rule = rules.find((candidate) => candidate.dataAssets.has('*') || candidate.dataAssets.has(id))
      if (rule === undefined) return { allowed: false, reason: `no rule grants mounting data asset ${id} with ${action}`, refused: id }
      labels.add(rule.label)
    }
    return { allowed: true, reason: `mounting ${dataAssetIds.length} data asset${dataAssetIds.length === 1 ? '' : 's'} granted by ${[...labels].join(', ')}` }
  }

  /** May the caller read the audit trail? The audit admin key may, and may do nothing else. */
  mayReadAudit (caller: Identity): Decision {
    if (caller.method === 'admin-key') return { allowed: true, reason: 'audit admin key' }
    const rule = this.#rulesFor(caller, 'audit:read')[0]
    return rule === undefined
      ? { allowed: false, reason: 'no rule grants audit:read' }
      : { allowed: true, reason: `audit:read granted by ${rule.label}` }
  }

  #rulesFor (caller: Identity, action: Action): CompiledRule[] {
    return this.#rules.filter((rule) => (rule.actions.has(action) || rule.actions.has('admin')) && appliesTo(rule, caller))
  }

  #reaches (rule: CompiledRule, caller: Identity, owner: OwnerRow | undefined, listedUnder: Target | undefined): boolean {
    if (owner === undefined) {
      // Nobody is known to own it: only "anyone's" reaches it, on whatever target it may have.
      return rule.scope === 'any' && (listedUnder === undefined ? rule.capsules.has('*') && rule.pipelines.has('*') : covers(rule, listedUnder))
    }
    const target: Target = owner.capsuleId === null ? { kind: 'pipeline', id: String(owner.pipelineId) } : { kind: 'capsule', id: owner.capsuleId }
    if (!covers(rule, target)) return false
    if (rule.scope === 'any' || ownedBy(owner, caller)) return true
    // A rule that names groups shares through those groups only; one that names subjects, through any.
    return rule.scope === 'group' && owner.groups.some((group) => caller.groups.includes(group) && (rule.groups.size === 0 || rule.groups.has(group)))
  }
}

/**
 * Did `caller` start the computation? Subjects must match exactly, so a key (`key:ci-nightly`)
 * never owns a person's computation, nor the reverse. An owner recorded before keys had their
 * namespace holds a key's bare subject: the key still owns it, and so, as then, does a person of
 * that subject.
 */
function ownedBy (owner: OwnerRow, caller: Identity): boolean {
  if (owner.subject === caller.subject) return true
  return !owner.namespaced && caller.method === 'service-key' && caller.subject === `${KEY_NAMESPACE}${owner.subject}`
}

function appliesTo (rule: CompiledRule, caller: Identity): boolean {
  // No rule reaches the audit admin key, not even one for every subject.
  if (caller.method === 'admin-key') return false
  return rule.subjects.has('*') || rule.subjects.has(caller.subject) || caller.groups.some((group) => rule.groups.has(group))
}

function covers (rule: CompiledRule, target: Target): boolean {
  const ids = target.kind === 'capsule' ? rule.capsules : rule.pipelines
  return ids.has('*') || ids.has(target.id)
}
