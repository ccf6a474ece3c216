// What a request acts on, read from its validated parts: the capsule or pipeline a run starts
// or a list names. Ids are UUIDs, compared in lower case as Code Ocean writes them.
import { InvalidRequest } from '../errors.js'

/** A capsule or pipeline. */
export interface Target {
  kind: 'capsule' | 'pipeline'
  id: string
}

/** Ids are UUIDs, which Code Ocean writes in lower case: compared and stored that way whatever the caller typed. */
export function canonicalId (id: string): string {
  return id.toLowerCase()
}

interface RunTargetFields {
  capsule_id?: string | null
  pipeline_id?: string | null
}

/** The one thing a run starts; a JSON Schema `oneOf` over nullable fields gives callers unreadable errors. */
export function runTargetOf (body: RunTargetFields): Target {
  const capsule = body.capsule_id ?? undefined
  const pipeline = body.pipeline_id ?? undefined
  if (capsule !== undefined && pipeline !== undefined) throw new InvalidRequest('body sets both capsule_id and pipeline_id: set exactly one')
  if (capsule !== undefined) return { kind: 'capsule', id: canonicalId(capsule) }
  if (pipeline !== undefined) return { kind: 'pipeline', id: canonicalId(pipeline) }
  throw new InvalidRequest('body must set capsule_id (to run a capsule) or pipeline_id (to run a pipeline)')
}

/** The capsule or pipeline whose computations a list route names. */
export function listTargetOf (params: { capsule_id?: string, pipeline_id?: string }): Target {
  return params.capsule_id === undefined
    ? { kind: 'pipeline', id: canonicalId(String(params.pipeline_id)) }
    : { kind: 'capsule', id: canonicalId(params.capsule_id) }
}
