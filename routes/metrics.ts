// GET /metrics, outside /api/v1: Prometheus's text format, on the API's port unless METRICS_PORT
// gives it one of its own. Needs no caller, is not audited, and answers even when overloaded.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { BAD_QUERY, NoQuery, UNAUTHENTICATED_LIMITED } from '../schemas/common.js'
import type { ProxyMetrics } from '../src/metrics/metrics.js'

export interface MetricsRoutesOptions {
  metrics: ProxyMetrics
}

const metricsRoutes: FastifyPluginAsyncTypebox<MetricsRoutesOptions> = async (app, options) => {
  app.get('/metrics', {
    config: { operational: true, answersUnderPressure: true },
    schema: {
      operationId: 'getMetrics',
      summary: 'Prometheus metrics',
      description: 'Not part of Code Ocean\'s API. Requests by operationId and status, calls to Code Ocean, retries, shared polls, ' +
        'audit writes, store errors, rate-limit refusals, connections to Code Ocean and the event loop, in Prometheus\'s text format. ' +
        'Served on a port of its own instead when METRICS_PORT is set.',
      tags: ['Operations'],
      security: [],
      querystring: NoQuery,
      response: {
        200: {
          description: 'Prometheus text exposition format 0.0.4.',
          content: { 'text/plain': { schema: Type.String() } }
        },
        400: BAD_QUERY,
        429: UNAUTHENTICATED_LIMITED
      }
    }
  }, async (_request, reply) => {
    return await reply.type(options.metrics.contentType).send(await options.metrics.exposition())
  })
}

export default metricsRoutes
