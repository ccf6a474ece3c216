// /api/v1/capsules/{id}/computations and /api/v1/pipelines/{id}/computations: each answer
// holds only the computations the caller may see (see plugins/authorization.ts).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { routeContract } from '../src/contract/route-contract.js'
import { CapsuleIdParams, PipelineIdParams } from '../schemas/capsules.js'
import { NoQuery, errorResponses, ref } from '../schemas/common.js'
import { ComputationList } from '../schemas/computations.js'

const capsuleRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const forward = app.forwardToCodeOcean
  const errors = errorResponses({ body: false, pathId: true })

  app.get('/capsules/:capsule_id/computations', {
    config: { contract: routeContract({ operation: 'listCapsuleComputations', action: 'list', resource: 'path: capsule_id | pipeline_id', retries: true }) },
    schema: {
      operationId: 'listCapsuleComputations',
      summary: 'List a capsule\'s computations',
      tags: ['Capsules'],
      params: CapsuleIdParams,
      querystring: NoQuery,
      response: { 200: ref(ComputationList), ...errors }
    }
  }, forward)

  app.get('/pipelines/:pipeline_id/computations', {
    config: { contract: routeContract({ operation: 'listPipelineComputations', action: 'list', resource: 'path: capsule_id | pipeline_id', retries: true }) },
    schema: {
      operationId: 'listPipelineComputations',
      summary: 'List a pipeline\'s computations',
      tags: ['Pipelines'],
      params: PipelineIdParams,
      querystring: NoQuery,
      response: { 200: ref(ComputationList), ...errors }
    }
  }, forward)
}

export default capsuleRoutes
