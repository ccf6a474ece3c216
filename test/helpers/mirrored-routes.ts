// What every mirrored route must be, written down apart from the route declarations so that a
// test can hold the declarations to it: the policy action it needs, whether it changes something
// at Code Ocean, whether it may be retried or shared, the values it carries that must never be stored or logged in clear, and a valid
// request for it. test/routes/route-properties.test.ts checks that this table names exactly the
// routes the app serves under /api/v1, then proves each property for every one of them.
import { randomUUID } from 'node:crypto'
import type { InjectOptions } from 'fastify'
import type { Simulator } from '../../src/simulator/index.js'

export type RouteAction = 'run' | 'read' | 'rename' | 'delete' | 'attach' | 'list'

export interface MirroredRoute {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE'
  /** The OpenAPI path, e.g. /api/v1/computations/{computation_id}. */
  path: string
  action: RouteAction
  /** A mutation: its received record must be durable before it is forwarded. */
  mutates: boolean
  /** A read Code Ocean's 429 and 502–504 may be retried for. */
  retries: boolean
  /** A poll: identical calls at the same time share one call to Code Ocean. */
  coalesces: boolean
  /** Values in the sample request that may be confidential: kept only as HMACs. */
  sensitive: string[]
  /** The data assets the sample request mounts: each must be granted by the policy's data_assets. */
  mounts: string[]
  /** A request that passes validation and reaches Code Ocean, against `simulator`. */
  sample: (simulator: Simulator) => InjectOptions
}

/** A confidential value unique to one route, easy to search for in a trail or a log. */
const secret = (what: string): string => `confidential-${what}-${randomUUID().slice(0, 8)}`

/** The data asset the samples that mount one mount. */
export const SAMPLE_DATA_ASSET = '44ec16c3-cb5a-45f5-93d1-cba8be800c24'

function onComputation (simulator: Simulator, workstation = false): string {
  return simulator.addComputation(workstation
    ? { capsule_id: simulator.capsules.workstation, cloud_workstation: true, state: 'running' }
    : { capsule_id: simulator.capsules.analysis, state: 'completed' }).id
}

export const MIRRORED_ROUTES: Readonly<Record<string, MirroredRoute>> = {
  runCapsule: (() => {
    const values = [secret('parameter'), secret('named-parameter')] as const
    return {
      method: 'POST',
      path: '/api/v1/computations',
      action: 'run',
      mutates: true,
      retries: false,
      coalesces: false,
      sensitive: [...values],
      mounts: [SAMPLE_DATA_ASSET],
      sample: (simulator) => ({
        method: 'POST',
        url: '/api/v1/computations',
        payload: {
          capsule_id: simulator.capsules.analysis,
          parameters: [values[0]],
          named_parameters: [{ param_name: 'threshold', value: values[1] }],
          data_assets: [{ id: SAMPLE_DATA_ASSET, mount: 'reference' }]
        }
      })
    }
  })(),
  getComputation: {
    method: 'GET',
    path: '/api/v1/computations/{computation_id}',
    action: 'read',
    mutates: false,
    retries: true,
    coalesces: true,
    sensitive: [],
    mounts: [],
    sample: (simulator) => ({ method: 'GET', url: `/api/v1/computations/${onComputation(simulator)}` })
  },
  renameComputation: (() => {
    const name = secret('name')
    return {
      method: 'PATCH',
      path: '/api/v1/computations/{computation_id}',
      action: 'rename',
      mutates: true,
      retries: false,
      coalesces: false,
      sensitive: [name],
      mounts: [],
      sample: (simulator) => ({ method: 'PATCH', url: `/api/v1/computations/${onComputation(simulator)}?name=${name}` })
    }
  })(),
  deleteComputation: {
    method: 'DELETE',
    path: '/api/v1/computations/{computation_id}',
    action: 'delete',
    mutates: true,
    retries: false,
    coalesces: false,
    sensitive: [],
    mounts: [],
    sample: (simulator) => ({ method: 'DELETE', url: `/api/v1/computations/${onComputation(simulator)}` })
  },
  listComputationResults: (() => {
    const path = secret('folder')
    return {
      method: 'POST',
      path: '/api/v1/computations/{computation_id}/results',
      action: 'read',
      mutates: false,
      retries: true,
      coalesces: false,
      sensitive: [path],
      mounts: [],
      sample: (simulator) => ({ method: 'POST', url: `/api/v1/computations/${onComputation(simulator)}/results`, payload: { path } })
    }
  })(),
  getResultFileUrls: (() => {
    const path = secret('file')
    return {
      method: 'GET',
      path: '/api/v1/computations/{computation_id}/results/urls',
      action: 'read',
      mutates: false,
      retries: true,
      coalesces: false,
      sensitive: [path],
      mounts: [],
      sample: (simulator) => ({ method: 'GET', url: `/api/v1/computations/${onComputation(simulator)}/results/urls?path=${path}` })
    }
  })(),
  getResultFileDownloadUrl: (() => {
    const path = secret('download')
    return {
      method: 'GET',
      path: '/api/v1/computations/{computation_id}/results/download_url',
      action: 'read',
      mutates: false,
      retries: true,
      coalesces: false,
      sensitive: [path],
      mounts: [],
      sample: (simulator) => ({ method: 'GET', url: `/api/v1/computations/${onComputation(simulator)}/results/download_url?path=${path}` })
    }
  })(),
  attachComputationDataAssets: {
    method: 'POST',
    path: '/api/v1/computations/{computation_id}/data_assets',
    action: 'attach',
    mutates: true,
    retries: false,
    coalesces: false,
    sensitive: [],
    mounts: [SAMPLE_DATA_ASSET],
    sample: (simulator) => ({
      method: 'POST',
      url: `/api/v1/computations/${onComputation(simulator, true)}/data_assets`,
      payload: [{ id: SAMPLE_DATA_ASSET, mount: 'reference' }]
    })
  },
  detachComputationDataAssets: {
    method: 'DELETE',
    path: '/api/v1/computations/{computation_id}/data_assets/',
    action: 'attach',
    mutates: true,
    retries: false,
    coalesces: false,
    sensitive: [],
    mounts: [],
    sample: (simulator) => ({
      method: 'DELETE',
      url: `/api/v1/computations/${onComputation(simulator, true)}/data_assets/`,
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify([randomUUID()])
    })
  },
  listCapsuleComputations: {
    method: 'GET',
    path: '/api/v1/capsules/{capsule_id}/computations',
    action: 'list',
    mutates: false,
    retries: true,
    coalesces: false,
    sensitive: [],
    mounts: [],
    sample: (simulator) => ({ method: 'GET', url: `/api/v1/capsules/${simulator.capsules.analysis}/computations` })
  },
  listPipelineComputations: {
    method: 'GET',
    path: '/api/v1/pipelines/{pipeline_id}/computations',
    action: 'list',
    mutates: false,
    retries: true,
    coalesces: false,
    sensitive: [],
    mounts: [],
    sample: (simulator) => ({ method: 'GET', url: `/api/v1/pipelines/${simulator.pipelines.main}/computations` })
  }
}

/** Every policy action a rule can grant on capsules and computations (not admin, not audit:read). */
export const ROUTE_ACTIONS: readonly RouteAction[] = ['run', 'read', 'rename', 'delete', 'attach', 'list']
