// GET /computations/{computation_id}/wait: an extension outside /api/v1 that holds the request
// until the run reaches a terminal state (or the timeout), polling Code Ocean once per interval
// per computation however many callers wait, instead of every client polling on its own.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { errorResponses, ref } from '../schemas/common.js'
import { Computation, ComputationIdParams } from '../schemas/computations.js'
import { routeContract } from '../src/contract/route-contract.js'

export const WaitQuery = Type.Object({
  timeout: Type.Optional(Type.String({
    pattern: '^[1-9][0-9]{0,3}$',
    description: 'Seconds to wait at most (1 to 9999; capped at WAIT_MAX_SECONDS, which is also the default).'
  }))
}, { additionalProperties: false })

const waitRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/computations/:computation_id/wait', {
    config: { contract: routeContract({ operation: 'waitForComputation', action: 'read', resource: 'path: computation_id' }) },
    schema: {
      operationId: 'waitForComputation',
      summary: 'Wait until a computation has finished',
      description: 'Not part of Code Ocean\'s API. Answers 200 with the Computation exactly as Code Ocean sent it once its state is ' +
        'completed or failed, or 202 with the Computation as it last was when the timeout passes first (or the proxy is shutting ' +
        'down): call again to keep waiting. The proxy polls Code Ocean once per interval for each computation, however many callers wait.',
      tags: ['Extensions'],
      params: ComputationIdParams,
      querystring: WaitQuery,
      response: {
        200: ref(Computation),
        202: { ...ref(Computation), description: 'Still running when the timeout passed: the computation as it last was.' },
        ...errorResponses({ body: false, pathId: true })
      }
    }
  }, app.waitForComputation)
}

export default waitRoutes
