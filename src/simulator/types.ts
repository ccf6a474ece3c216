// The simulator's public contract: options, the recorded-request and fault shapes, the handle
// returned by startSimulator, and the Code Ocean JSON types it speaks.
import type { IncomingHttpHeaders } from 'node:http'

export type ComputationState = 'initializing' | 'running' | 'finalizing' | 'completed' | 'failed'
export type ComputationEndStatus = 'succeeded' | 'failed' | 'stopped'

export interface InputDataAsset {
  id: string
  mount?: string
}

/** `name` is the label, `param_name` the internal name; ordered parameters come back as `{name: '', value}`. */
export interface Param {
  name?: string
  param_name?: string
  value?: string
}

export interface PipelineProcess {
  name: string
  capsule_id: string
  version?: number
  public?: boolean
  parameters?: Param[]
}

/** A computation as the API sends it (SDK 0.16.0 `Computation`). */
export interface Computation {
  id: string
  created: number
  name: string
  owner: string
  run_time: number
  state: ComputationState
  owner_email?: string
  cloud_workstation?: boolean
  data_assets?: InputDataAsset[]
  parameters?: Param[]
  nextflow_profile?: string
  processes?: PipelineProcess[]
  end_status?: ComputationEndStatus
  exit_code?: number
  has_results?: boolean
}

export interface FolderItem {
  name: string
  path: string
  type: 'file' | 'folder'
  size?: number
}

export interface Folder {
  items: FolderItem[]
}

export interface FileURLs {
  download_url: string
  view_url: string
}

export interface DownloadFileURL {
  url: string
}

export interface DataAssetAttachResult {
  id: string
  mount: string
  mount_state: string
  job_id: string
  external: boolean
  ready: boolean
}

export interface SimulatorTimings {
  initializingMs?: number
  runningMs?: number
  finalizingMs?: number
}

export interface SimulatorOptions {
  /** The access token accepted as `Authorization: Basic base64(token + ":")`. */
  token: string
  /** Default '127.0.0.1'. */
  host?: string
  /** Default 0 (ephemeral). */
  port?: number
  /**
   * The origin signed result URLs point at, e.g. http://127.0.0.1:8081 for a simulator listening
   * on 0.0.0.0 in a container; default its own url.
   */
  publicUrl?: string
  /** Durations of the state machine; defaults 1000 / 3000 / 1000 ms. */
  timings?: SimulatorTimings
  /** Merged into every Computation JSON sent, last, so it can also override known fields. */
  extraFields?: Record<string, unknown>
  /** Default '4.6.0'; compared with the Min-Server-Version request header. */
  serverVersion?: string
  /** Millisecond clock driving the state machine and URL expiry; default Date.now. */
  now?: () => number
}

export interface RecordedResponse {
  status: number
  headers: Record<string, string>
  bodyText: string
}

export interface RecordedRequest {
  method: string
  /** The request target exactly as received, query included. */
  url: string
  /** `url` without the query. */
  path: string
  /** Decoded with application/x-www-form-urlencoded rules ('+' is a space); the last value wins. */
  query: Record<string, string>
  headers: IncomingHttpHeaders
  /** Raw body, '' when none. */
  bodyText: string
  /** JSON.parse(bodyText) when it parses, else undefined. */
  body: unknown
  /** What the simulator answered; undefined for hang and reset faults (and while a request is pending). */
  response: RecordedResponse | undefined
}

export interface Fault {
  /** Match only this method (case-insensitive). */
  method?: string
  /** A string matches the exact path without query; a RegExp is tested against that path. */
  path?: string | RegExp
  /** How many matching requests it applies to; default unlimited until cleared. */
  times?: number
  /** Answer with this status (200–599) instead of handling the request. */
  status?: number
  /** Body of the status answer; an object is sent as JSON. Default for status >= 400: {"message": "Simulated fault"}. */
  body?: string | object
  /** Added to the answer, whether the fault's status answer or the normal one. */
  headers?: Record<string, string>
  /** Wait this long first, then hang, reset, answer with `status`, or handle normally. */
  delayMs?: number
  /** Never answer; the socket stays open until the client gives up or the simulator closes. */
  hang?: boolean
  /** Destroy the socket without sending a byte. */
  reset?: boolean
}

export interface CompleteOutcome {
  end_status?: ComputationEndStatus
  exit_code?: number
}

/** Fields accepted by addComputation: any Computation field plus the capsule or pipeline it belongs to. */
export type ComputationSeed = Partial<Computation> & { capsule_id?: string, pipeline_id?: string }

export interface Simulator {
  /** 'http://127.0.0.1:<port>', no trailing slash. */
  readonly url: string
  readonly port: number
  /** Every request in arrival order, faulted ones included. */
  readonly requests: RecordedRequest[]
  readonly capsules: { readonly analysis: string, readonly failing: string, readonly workstation: string }
  readonly pipelines: { readonly main: string }
  inject (fault: Fault): void
  clearFaults (): void
  clearRequests (): void
  /** Forces a computation to `completed` now (default outcome: what its run would have produced). */
  complete (computationId: string, outcome?: CompleteOutcome): void
  /**
   * Adds a computation as if started outside the proxy. Without `state` it runs through the state
   * machine from now on; with `state` it is pinned there (run_time, end_status, exit_code and
   * has_results then come from the fields or sensible defaults) until complete() or deletion.
   */
  addComputation (fields: ComputationSeed): Computation
  /** The computation as it would be sent now, or undefined. */
  getComputation (id: string): Computation | undefined
  /** Closes the server, destroying open sockets (hung ones included) so it never hangs. */
  close (): Promise<void>
}
