// Path parameters for the capsule and pipeline listings (their bodies are ComputationList).
import { Type } from '@sinclair/typebox'
import { Uuid } from './common.js'

export const CapsuleIdParams = Type.Object({
  capsule_id: Uuid('The capsule id.')
}, { additionalProperties: false })

export const PipelineIdParams = Type.Object({
  pipeline_id: Uuid('The pipeline id.')
}, { additionalProperties: false })
