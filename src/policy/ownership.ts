// Who started each computation, as the proxy learns it from a run's answer, and which elements of
// a computation list a caller may read. Pure decisions over answers and owner rows; the request
// path does the reading and the writing.
import { UpstreamProtocolError } from '../errors.js'
import type { Identity } from '../identity/identity.js'
import type { OwnerRow } from '../store/store.js'
import { jsonArrayElements } from './json-array.js'
import type { Policy } from './policy.js'
import { canonicalId, type Target } from './targets.js'

/** An answer from Code Ocean, read whole. */
export interface WholeBody { status: number, body: Buffer }

/** What a run's answer says was started. */
export type StartedRun =
  /** Code Ocean started this computation. */
  | { kind: 'started', computationId: string }
  /** Code Ocean refused the run (any status but 200): nothing to record. */
  | { kind: 'refused' }
  /** A 200 that names no computation: its owner cannot be recorded. */
  | { kind: 'unnamed' }

export function startedRunOf ({ status, body }: WholeBody): StartedRun {
  if (status !== 200) return { kind: 'refused' }
  let id: unknown
  try {
    id = (JSON.parse(body.toString('utf8')) as { id?: unknown }).id
  } catch {}
  return typeof id === 'string' && id !== '' ? { kind: 'started', computationId: id } : { kind: 'unnamed' }
}

/** The owner row of a computation `caller` started on `target`. */
export function ownerRowFor (computationId: string, caller: Identity, target: Target, createdAt: Date): OwnerRow {
  return {
    computationId: canonicalId(computationId),
    subject: caller.subject,
    groups: caller.groups,
    capsuleId: target.kind === 'capsule' ? target.id : null,
    pipelineId: target.kind === 'pipeline' ? target.id : null,
    createdAt: createdAt.toISOString(),
    namespaced: true
  }
}

/** Reads the owners of the computations named. */
export type OwnersOf = (computationIds: readonly string[]) => Promise<Map<string, OwnerRow>>

/**
 * A list answer with only the elements `caller` may read, each exactly as Code Ocean wrote it.
 * Errors pass as they are: only a list of computations has anything to hide. A 200 that is not
 * a JSON array is Code Ocean's protocol error (UpstreamProtocolError).
 */
export async function readableOnly (answer: WholeBody, caller: Identity, target: Target, policy: Policy, ownersOf: OwnersOf): Promise<Buffer> {
  if (answer.status !== 200) return answer.body
  const elements = jsonArrayElements(answer.body.toString('utf8'))
  if (elements === undefined) throw new UpstreamProtocolError()
  const idOf = (value: unknown): string | undefined => {
    const id = (value as { id?: unknown } | null)?.id
    return typeof id === 'string' ? canonicalId(id) : undefined
  }
  const owners = await ownersOf(elements.flatMap((element) => idOf(element.value) ?? []))
  const visible = elements.filter((element) => {
    const id = idOf(element.value)
    // Read, not merely visible: an element carries everything a get would answer.
    return id !== undefined && policy.onComputation(caller, 'read', owners.get(id), target).allowed
  })
  return Buffer.from(`[${visible.map((element) => element.text).join(',')}]`)
}
