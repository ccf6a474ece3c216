// Validation of the RunParams body of POST /computations. Lenient where the real API is: the SDK
// sends every optional field, unset ones as null.
import type { InputDataAsset, Param } from './types.js'
import { HttpError, isRecord } from './wire.js'

export interface ProcessRequest {
  name: string
  parameters: Param[]
}

/** A validated run request: exactly one of capsuleId / pipelineId is set. */
export interface RunRequest {
  capsuleId?: string
  pipelineId?: string
  dataAssets: InputDataAsset[]
  parameters: Param[]
  processes: ProcessRequest[]
  nextflowProfile?: string
}

function invalid (message: string): HttpError {
  return new HttpError(400, message)
}

function optional<T> (value: unknown, parse: (value: unknown) => T): T | undefined {
  return value === undefined || value === null ? undefined : parse(value)
}

function stringAt (where: string): (value: unknown) => string {
  return (value: unknown): string => {
    if (typeof value !== 'string') throw invalid(`${where} must be a string`)
    return value
  }
}

function arrayAt<T> (where: string, parseItem: (item: unknown, where: string) => T): (value: unknown) => T[] {
  return (value: unknown): T[] => {
    if (!Array.isArray(value)) throw invalid(`${where} must be an array`)
    return value.map((item, index) => parseItem(item, `${where}[${index}]`))
  }
}

function objectAt (value: unknown, where: string): Record<string, unknown> {
  if (!isRecord(value)) throw invalid(`${where} must be an object`)
  return value
}

/** Data assets given without a mount are mounted under their id. */
export function parseDataAsset (value: unknown, where: string): Required<InputDataAsset> {
  const item = objectAt(value, where)
  const id = stringAt(`${where}.id`)(item['id'])
  const mount = optional(item['mount'], stringAt(`${where}.mount`))
  return { id, mount: mount ?? id }
}

function parseNamedParam (value: unknown, where: string): Param {
  const item = objectAt(value, where)
  return {
    param_name: stringAt(`${where}.param_name`)(item['param_name']),
    value: stringAt(`${where}.value`)(item['value'])
  }
}

/** Ordered values become `{name: '', value}` as the API reports them; named ones keep their param_name. */
function parseParameters (source: Record<string, unknown>, where: string): Param[] {
  const ordered = optional(source['parameters'], arrayAt(`${where}parameters`, (item, at) => stringAt(at)(item))) ?? []
  const named = optional(source['named_parameters'], arrayAt(`${where}named_parameters`, parseNamedParam)) ?? []
  return [...ordered.map((value) => ({ name: '', value })), ...named]
}

function parseProcess (value: unknown, where: string): ProcessRequest {
  const item = objectAt(value, where)
  return { name: stringAt(`${where}.name`)(item['name']), parameters: parseParameters(item, `${where}.`) }
}

export function parseRunParams (body: unknown): RunRequest {
  const params = objectAt(body, 'The request body (RunParams)')
  const capsuleId = optional(params['capsule_id'], stringAt('capsule_id'))
  const pipelineId = optional(params['pipeline_id'], stringAt('pipeline_id'))
  if ((capsuleId === undefined) === (pipelineId === undefined)) {
    throw invalid('Provide exactly one of capsule_id or pipeline_id')
  }
  const version = optional(params['version'], (value) => value)
  if (version !== undefined && !Number.isInteger(version)) throw invalid('version must be an integer')
  optional(params['resume_run_id'], stringAt('resume_run_id'))
  const nextflowProfile = optional(params['nextflow_profile'], stringAt('nextflow_profile'))
  return {
    ...(capsuleId === undefined ? {} : { capsuleId }),
    ...(pipelineId === undefined ? {} : { pipelineId }),
    dataAssets: optional(params['data_assets'], arrayAt('data_assets', parseDataAsset)) ?? [],
    parameters: parseParameters(params, ''),
    processes: optional(params['processes'], arrayAt('processes', parseProcess)) ?? [],
    ...(nextflowProfile === undefined ? {} : { nextflowProfile })
  }
}
