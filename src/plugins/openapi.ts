// The OpenAPI document, generated from the routes' own schemas, served at /openapi.json with
// Swagger UI at /docs. Components are named by their `$id` (Computation, RunParams, …).
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'

export interface OpenApiOptions {
  version: string
}

export const OPENAPI_TAGS = [
  { name: 'Computations', description: 'Run capsules and pipelines, follow them, fetch their results, rename, stop and delete them.' },
  { name: 'Capsules', description: 'Computations of a capsule.' },
  { name: 'Pipelines', description: 'Computations of a pipeline.' },
  { name: 'Audit', description: 'The proxy\'s own audit trail (not part of Code Ocean\'s API).' }
]

async function openapi (app: FastifyInstance, options: OpenApiOptions): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'codeocean-proxy',
        version: options.version,
        description: 'The Code Ocean Computations API, mirrored path for path under /api/v1. ' +
          'The proxy holds the Code Ocean access token, validates every request and audits every call; ' +
          'responses from Code Ocean are passed through unchanged.',
        license: { name: 'UNLICENSED' }
      },
      // Relative: the document is served by, and describes, the proxy it came from.
      servers: [{ url: '/', description: 'This proxy' }],
      // Callers present no credential of their own yet: the proxy adds Code Ocean's.
      security: [],
      components: {
        securitySchemes: {
          auditAdminKey: { type: 'http', scheme: 'bearer', description: 'AUDIT_ADMIN_KEY, for the audit trail.' }
        }
      },
      tags: OPENAPI_TAGS
    },
    hideUntagged: true,
    refResolver: {
      // Every shared schema has an $id (the openapi test fails on a component without one).
      buildLocalReference: (json) => String(json.$id)
    }
  })
  await app.register(swaggerUi, { routePrefix: '/docs', logLevel: 'warn' })
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
}

export default fp(openapi, { name: 'openapi', fastify: '5.x' })
