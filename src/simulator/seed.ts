// The fixed world every simulator starts with: capsules, a pipeline and the account that owns
// every run. Constants, so tests and the demo can name them before a simulator exists.
import type { PipelineProcess } from './types.js'

export const SIMULATOR_CAPSULES = Object.freeze({
  /** Runs succeed. */
  analysis: 'a1c3e5f7-0b2d-4e6f-8a1c-3e5f70b2d4e6',
  /** Runs complete with end_status 'failed' and exit_code 1. */
  failing: 'f2e4d6c8-1a3b-4c5d-9e7f-2a4b6c8d0e1f',
  /** Runs are cloud workstation sessions: they stay running until deleted or completed. */
  workstation: 'c0de0cea-4a11-4b5e-a7c3-90d2e8f1b6a4'
})

export const SIMULATOR_PIPELINES = Object.freeze({
  main: 'b7d9f1a3-5c2e-4f60-b8a2-c4e6f8a0b2d4'
})

/** The one account the simulator's token belongs to, hence the owner of every run. */
export const SIMULATOR_OWNER = Object.freeze({
  id: 'e3a5c7b9-2d4f-4a6b-8c0e-1f3a5c7e9b2d',
  email: 'proxy-service@example.com'
})

/** Processes of each seeded pipeline, as named in its main.nf; the same capsule may run twice. */
export const SIMULATOR_PIPELINE_PROCESSES: Readonly<Record<string, readonly PipelineProcess[]>> = Object.freeze({
  [SIMULATOR_PIPELINES.main]: Object.freeze([
    { name: 'capsule_analysis_1', capsule_id: SIMULATOR_CAPSULES.analysis },
    { name: 'capsule_analysis_2', capsule_id: SIMULATOR_CAPSULES.analysis }
  ])
})
