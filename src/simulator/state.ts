// The simulator's computations: creation, the clock-driven state machine
// (initializing → running → finalizing → completed) and the JSON view clients are sent.
import { randomUUID } from 'node:crypto'
import type { ProcessRequest, RunRequest } from './run-params.js'
import { SIMULATOR_CAPSULES, SIMULATOR_OWNER, SIMULATOR_PIPELINE_PROCESSES, SIMULATOR_PIPELINES } from './seed.js'
import type {
  CompleteOutcome,
  Computation,
  ComputationEndStatus,
  ComputationSeed,
  ComputationState,
  InputDataAsset,
  Param,
  PipelineProcess
} from './types.js'

export interface Timings {
  initializingMs: number
  runningMs: number
  finalizingMs: number
}

/** Where a computation is in its life; what the clock (or a pin, or complete()) decides. */
interface Progress {
  state: ComputationState
  run_time: number
  end_status?: ComputationEndStatus
  exit_code?: number
  has_results: boolean
}

interface FixedFields {
  created: number
  owner: string
  owner_email: string
  parameters: Param[]
  nextflow_profile?: string
  processes?: PipelineProcess[]
}

interface StoredComputation {
  readonly id: string
  /** Clock time the state machine counts from. */
  readonly startedAtMs: number
  readonly capsuleId: string | undefined
  readonly pipelineId: string | undefined
  readonly workstation: boolean
  /** Fields fixed at creation, sent as they are. */
  readonly fixed: FixedFields
  name: string
  dataAssets: InputDataAsset[]
  /** Set by addComputation({state}) or complete(); the clock no longer matters then. */
  settled: Progress | undefined
}

export interface ComputationStoreOptions {
  timings: Timings
  now: () => number
  extraFields: Record<string, unknown>
}

function exitCodeFor (endStatus: ComputationEndStatus): number {
  return endStatus === 'succeeded' ? 0 : 1
}

export class ComputationStore {
  readonly #computations = new Map<string, StoredComputation>()
  readonly #capsules = new Set<string>(Object.values(SIMULATOR_CAPSULES))
  readonly #pipelines = new Set<string>(Object.values(SIMULATOR_PIPELINES))
  readonly #options: ComputationStoreOptions

  constructor (options: ComputationStoreOptions) {
    this.#options = options
  }

  hasCapsule (id: string): boolean {
    return this.#capsules.has(id)
  }

  hasPipeline (id: string): boolean {
    return this.#pipelines.has(id)
  }

  /** Starts a run the way POST /computations does; the request has been validated. */
  run (request: RunRequest): Computation {
    const nowMs = this.#options.now()
    const created = Math.floor(nowMs / 1000)
    const id = randomUUID()
    const processes =
      request.pipelineId === undefined ? undefined : this.#pipelineProcesses(request.pipelineId, request.processes)
    this.#computations.set(id, {
      id,
      startedAtMs: nowMs,
      capsuleId: request.capsuleId,
      pipelineId: request.pipelineId,
      workstation: request.capsuleId === SIMULATOR_CAPSULES.workstation,
      fixed: {
        created,
        owner: SIMULATOR_OWNER.id,
        owner_email: SIMULATOR_OWNER.email,
        parameters: request.parameters,
        ...(request.nextflowProfile === undefined ? {} : { nextflow_profile: request.nextflowProfile }),
        ...(processes === undefined ? {} : { processes })
      },
      // Real default names are "Run " and the last seven digits of the creation time.
      name: `Run ${String(created).slice(-7)}`,
      dataAssets: request.dataAssets,
      settled: undefined
    })
    return this.#view(id)
  }

  /** The pipeline's own processes carry the parameters the request gave them by name; extra names run the analysis capsule. */
  #pipelineProcesses (pipelineId: string, requested: readonly ProcessRequest[]): PipelineProcess[] {
    const known = SIMULATOR_PIPELINE_PROCESSES[pipelineId] ?? []
    const byName = new Map(requested.map((process) => [process.name, process.parameters]))
    const processes = known.map((process) => ({ ...process, parameters: byName.get(process.name) ?? [] }))
    for (const process of requested) {
      if (!known.some((knownProcess) => knownProcess.name === process.name)) {
        processes.push({ name: process.name, capsule_id: SIMULATOR_CAPSULES.analysis, parameters: process.parameters })
      }
    }
    return processes
  }

  /** See Simulator.addComputation. */
  add (seed: ComputationSeed): Computation {
    const { capsule_id, pipeline_id, id = randomUUID(), name, state, cloud_workstation, data_assets } = seed
    if (capsule_id !== undefined && pipeline_id !== undefined) {
      throw new TypeError('addComputation: give capsule_id or pipeline_id, not both')
    }
    if (this.#computations.has(id)) throw new TypeError(`addComputation: computation ${id} already exists`)
    const nowMs = this.#options.now()
    const created = seed.created ?? Math.floor(nowMs / 1000)
    const capsuleId = pipeline_id === undefined ? (capsule_id ?? SIMULATOR_CAPSULES.analysis) : undefined
    if (capsuleId !== undefined) this.#capsules.add(capsuleId)
    if (pipeline_id !== undefined) this.#pipelines.add(pipeline_id)
    const workstation = cloud_workstation ?? capsuleId === SIMULATOR_CAPSULES.workstation
    const failing = capsuleId === SIMULATOR_CAPSULES.failing
    const processes =
      seed.processes ?? (pipeline_id === undefined ? undefined : this.#pipelineProcesses(pipeline_id, []))
    this.#computations.set(id, {
      id,
      startedAtMs: nowMs,
      capsuleId,
      pipelineId: pipeline_id,
      workstation,
      fixed: {
        created,
        owner: seed.owner ?? SIMULATOR_OWNER.id,
        owner_email: seed.owner_email ?? SIMULATOR_OWNER.email,
        parameters: structuredClone(seed.parameters ?? []),
        ...(seed.nextflow_profile === undefined ? {} : { nextflow_profile: seed.nextflow_profile }),
        ...(processes === undefined ? {} : { processes: structuredClone(processes) })
      },
      name: name ?? `Run ${String(created).slice(-7)}`,
      dataAssets: structuredClone(data_assets ?? []),
      settled: state === undefined ? undefined : pinnedProgress(seed, state, failing)
    })
    return this.#view(id)
  }

  get (id: string): Computation | undefined {
    return this.#computations.has(id) ? this.#view(id) : undefined
  }

  /** Whether results exist, judged by the state machine alone (extraFields cannot fake it). */
  hasResults (id: string): boolean {
    const stored = this.#computations.get(id)
    return stored !== undefined && this.#progress(stored).has_results
  }

  isWorkstation (id: string): boolean {
    return this.#mustGet(id).workstation
  }

  /** Listing in creation order; undefined for a capsule the simulator does not know. */
  listForCapsule (capsuleId: string): Computation[] | undefined {
    if (!this.#capsules.has(capsuleId)) return undefined
    return this.#list((stored) => stored.capsuleId === capsuleId)
  }

  listForPipeline (pipelineId: string): Computation[] | undefined {
    if (!this.#pipelines.has(pipelineId)) return undefined
    return this.#list((stored) => stored.pipelineId === pipelineId)
  }

  #list (include: (stored: StoredComputation) => boolean): Computation[] {
    return [...this.#computations.values()].filter(include).map((stored) => this.#view(stored.id))
  }

  /** False when there is no such computation. */
  rename (id: string, name: string): boolean {
    const stored = this.#computations.get(id)
    if (stored) stored.name = name
    return stored !== undefined
  }

  /** Deleting also stops it; the record is gone afterwards, as on the real API. */
  delete (id: string): boolean {
    return this.#computations.delete(id)
  }

  /** Attaches (or re-mounts) data assets; the caller has checked the computation exists. */
  attach (id: string, assets: readonly Required<InputDataAsset>[]): void {
    const stored = this.#mustGet(id)
    for (const asset of assets) {
      stored.dataAssets = [...stored.dataAssets.filter((existing) => existing.id !== asset.id), { ...asset }]
    }
  }

  detach (id: string, assetIds: readonly string[]): void {
    const stored = this.#mustGet(id)
    stored.dataAssets = stored.dataAssets.filter((asset) => !assetIds.includes(asset.id))
  }

  complete (id: string, outcome: CompleteOutcome = {}): void {
    const stored = this.#mustGet(id)
    const current = this.#progress(stored)
    const end_status = outcome.end_status ?? naturalEndStatus(stored.capsuleId)
    stored.settled = {
      state: 'completed',
      run_time: current.run_time,
      end_status,
      exit_code: outcome.exit_code ?? exitCodeFor(end_status),
      has_results: true
    }
  }

  #mustGet (id: string): StoredComputation {
    const stored = this.#computations.get(id)
    if (!stored) throw new TypeError(`No computation ${id} in the simulator`)
    return stored
  }

  #progress (stored: StoredComputation): Progress {
    if (stored.settled) return stored.settled
    const { initializingMs, runningMs, finalizingMs } = this.#options.timings
    const elapsed = Math.max(0, this.#options.now() - stored.startedAtMs)
    if (elapsed < initializingMs) return { state: 'initializing', run_time: 0, has_results: false }
    if (stored.workstation || elapsed < initializingMs + runningMs) {
      return { state: 'running', run_time: Math.floor((elapsed - initializingMs) / 1000), has_results: false }
    }
    const run_time = Math.floor(runningMs / 1000)
    if (elapsed < initializingMs + runningMs + finalizingMs) return { state: 'finalizing', run_time, has_results: false }
    const end_status = naturalEndStatus(stored.capsuleId)
    return { state: 'completed', run_time, end_status, exit_code: exitCodeFor(end_status), has_results: true }
  }

  #view (id: string): Computation {
    const stored = this.#mustGet(id)
    const progress = this.#progress(stored)
    const { fixed } = stored
    const computation: Computation = {
      id: stored.id,
      created: fixed.created,
      name: stored.name,
      owner: fixed.owner,
      owner_email: fixed.owner_email,
      run_time: progress.run_time,
      state: progress.state,
      cloud_workstation: stored.workstation,
      data_assets: structuredClone(stored.dataAssets),
      parameters: structuredClone(fixed.parameters),
      ...(fixed.nextflow_profile === undefined ? {} : { nextflow_profile: fixed.nextflow_profile }),
      ...(fixed.processes === undefined ? {} : { processes: structuredClone(fixed.processes) }),
      ...(progress.end_status === undefined ? {} : { end_status: progress.end_status }),
      ...(progress.exit_code === undefined ? {} : { exit_code: progress.exit_code }),
      has_results: progress.has_results
    }
    return { ...computation, ...this.#options.extraFields } as Computation
  }
}

function naturalEndStatus (capsuleId: string | undefined): ComputationEndStatus {
  return capsuleId === SIMULATOR_CAPSULES.failing ? 'failed' : 'succeeded'
}

/** A computation added in a given state stays there; terminal states get an outcome unless one was given. */
function pinnedProgress (seed: ComputationSeed, state: ComputationState, failing: boolean): Progress {
  const terminal = state === 'completed' || state === 'failed'
  const endStatus = seed.end_status ?? (terminal ? (state === 'failed' || failing ? 'failed' : 'succeeded') : undefined)
  const exitCode = seed.exit_code ?? (endStatus === undefined ? undefined : exitCodeFor(endStatus))
  return {
    state,
    run_time: seed.run_time ?? 0,
    ...(endStatus === undefined ? {} : { end_status: endStatus }),
    ...(exitCode === undefined ? {} : { exit_code: exitCode }),
    has_results: seed.has_results ?? state === 'completed'
  }
}
