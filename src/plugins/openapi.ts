// The OpenAPI document, generated from the routes' own schemas, served at /openapi.json with
// Swagger UI at /docs. Components are named by their `$id` (Computation, RunParams, …). Both are
// operational, like health and metrics: reading the documentation is not an API call, so it is
// neither identified nor audited.
import type { FastifyInstance, RouteOptions } from 'fastify'
import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'

export interface OpenApiOptions {
  version: string
  /** The header the SSO gateway's assertion arrives in, when one is configured. */
  gatewayHeader?: string
}

/** Every mirrored operation accepts any of these; the gateway's is set by the gateway, not by clients. */
export const CALLER_SECURITY = [{ serviceKeyBasic: [] }, { serviceKeyBearer: [] }, { gatewayAssertion: [] }]

export const OPENAPI_TAGS = [
  { name: 'Computations', description: 'Run capsules and pipelines, follow them, fetch their results, rename, stop and delete them.' },
  { name: 'Capsules', description: 'Computations of a capsule.' },
  { name: 'Pipelines', description: 'Computations of a pipeline.' },
  { name: 'Extensions', description: 'What the proxy adds to Code Ocean\'s API (not part of it): waiting for a computation to finish.' },
  { name: 'Audit', description: 'The proxy\'s own audit trail (not part of Code Ocean\'s API).' },
  { name: 'Operations', description: 'Health and metrics for load balancers, orchestrators and Prometheus (not part of Code Ocean\'s API).' }
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
      // Callers prove who they are; the proxy adds Code Ocean's own credential.
      security: CALLER_SECURITY,
      components: {
        securitySchemes: {
          serviceKeyBasic: {
            type: 'http',
            scheme: 'basic',
            description: 'A service key of this proxy (npm run keys -- create) as the username, password empty: exactly where the Code Ocean SDK puts its token.'
          },
          serviceKeyBearer: { type: 'http', scheme: 'bearer', description: 'A service key of this proxy as a Bearer token.' },
          gatewayAssertion: {
            type: 'apiKey',
            in: 'header',
            name: gatewayHeaderName(options.gatewayHeader),
            description: 'The signed identity assertion (a JWT) the SSO gateway in front of the proxy adds (GATEWAY_JWT_HEADER). ' +
              'Set by the gateway, never by clients.'
          },
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
  // Swagger UI's pages and assets are routes of its own: a context of their own marks each of them.
  await app.register(async (docs) => {
    docs.addHook('onRoute', markOperational)
    await docs.register(swaggerUi, { routePrefix: '/docs', logLevel: 'warn' })
  })
  app.get('/openapi.json', { config: { operational: true }, schema: { hide: true } }, async () => app.swagger())
}

function markOperational (route: RouteOptions): void {
  route.config = { ...route.config, operational: true }
}

/** The configured header, as the gateway spells it; a placeholder name when none is configured. */
function gatewayHeaderName (header: string | undefined): string {
  if (header === undefined || header === 'authorization') return 'X-Gateway-Assertion'
  return header.split('-').map((part) => part.charAt(0).toUpperCase() + part.slice(1)).join('-')
}

export default fp(openapi, { name: 'openapi', fastify: '5.x' })
