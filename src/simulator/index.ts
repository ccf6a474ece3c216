// The fake Code Ocean used by the proxy's tests, the demo and the benchmark: start it, point the
// proxy at its url, and inspect or steer what the "upstream" saw and does.
export { startSimulator } from './server.js'
export { SIMULATOR_CAPSULES, SIMULATOR_OWNER, SIMULATOR_PIPELINE_PROCESSES, SIMULATOR_PIPELINES } from './seed.js'
export type {
  CompleteOutcome,
  Computation,
  ComputationEndStatus,
  ComputationSeed,
  ComputationState,
  DataAssetAttachResult,
  DownloadFileURL,
  Fault,
  FileURLs,
  Folder,
  FolderItem,
  InputDataAsset,
  Param,
  PipelineProcess,
  RecordedRequest,
  RecordedResponse,
  Simulator,
  SimulatorOptions,
  SimulatorTimings
} from './types.js'
