// GET /livez and GET /readyz, outside /api/v1: for load balancers and orchestrators, which may probe
// with HEAD as well. Neither needs a caller nor is audited; /livez answers even when the process is
// overloaded.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { BAD_QUERY, NoQuery, UNAUTHENTICATED_LIMITED, ref } from '../schemas/common.js'
import { Liveness, Readiness } from '../schemas/health.js'
import type { Readiness as ReadinessCheck } from '../src/health/readiness.js'

export interface HealthRoutesOptions {
  readiness: ReadinessCheck
}

const healthRoutes: FastifyPluginAsyncTypebox<HealthRoutesOptions> = async (app, options) => {
  app.get('/livez', {
    config: { operational: true, answersUnderPressure: true },
    // HEAD is off app-wide (it is not part of Code Ocean's API); probes that use it get it here.
    exposeHeadRoute: true,
    schema: {
      operationId: 'getLiveness',
      summary: 'Is the process alive?',
      description: 'Not part of Code Ocean\'s API. 200 while the process runs and its event loop answers, even when overloaded or draining: ' +
        'restart the instance only when this fails.',
      tags: ['Operations'],
      security: [],
      querystring: NoQuery,
      response: { 200: ref(Liveness), 400: BAD_QUERY, 429: UNAUTHENTICATED_LIMITED }
    }
  }, async () => ({ status: 'alive' as const }))

  app.get('/readyz', {
    config: { operational: true, answersUnderPressure: true },
    exposeHeadRoute: true,
    schema: {
      operationId: 'getReadiness',
      summary: 'Should this instance be sent traffic?',
      description: 'Not part of Code Ocean\'s API. 200 when the instance is not shutting down, its store answers, the gateway\'s keys are loaded ' +
        '(with a gateway), the circuit to Code Ocean is not open, the audit trail keeps up and the process is not overloaded; 503 with the ' +
        'failing checks otherwise.',
      tags: ['Operations'],
      security: [],
      querystring: NoQuery,
      response: {
        200: ref(Readiness),
        400: BAD_QUERY,
        429: UNAUTHENTICATED_LIMITED,
        503: { ...ref(Readiness), description: 'Not ready: see the failing checks.' }
      }
    }
  }, async (_request, reply) => {
    const { ready, checks } = await options.readiness.check()
    if (ready) return { status: 'ready' as const, checks }
    const failing = Object.keys(checks).filter((name) => !checks[name]?.ok)
    return await reply.code(503).send({ status: 'not ready' as const, message: `not ready: ${failing.join(', ')}`, checks })
  })
}

export default healthRoutes
