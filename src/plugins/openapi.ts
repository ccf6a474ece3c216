// The OpenAPI document, generated from the routes' own schemas, served at /openapi.json with
// Swagger UI at /docs. Components are named by their `$id` (Computation, RunParams, …); security
// schemes and requirements come from the identity sources' list. Both are operational, like
// health and metrics: reading the documentation is not an API call, so it is neither identified
// nor audited.
// Swagger UI is loaded on the first visit (swagger-ui-on-demand.ts).
import type { FastifyInstance, RouteOptions } from 'fastify'
import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import { securityFor, securitySchemesOf } from '../identity/sources.js'
import { DOCS_ROUTES, swaggerUiOnDemand } from './swagger-ui-on-demand.js'

export interface OpenApiOptions {
  version: string
  /** The header the SSO gateway's assertion arrives in, when one is configured. */
  gatewayHeader?: string
}

/** Every operation accepts any of these, unless it says otherwise; the gateway's is set by the gateway, not by clients. */
export const CALLER_SECURITY = securityFor(undefined)

export const OPENAPI_TAGS = [
  { name: 'Computations', description: 'Run capsules and pipelines, follow them, fetch their results, rename, stop and delete them.' },
  { name: 'Capsules', description: 'Computations of a capsule.' },
  { name: 'Pipelines', description: 'Computations of a pipeline.' },
  { name: 'Extensions', description: 'What the proxy adds to Code Ocean\'s API (not part of it): waiting for a computation to finish.' },
  { name: 'Audit', description: 'The proxy\'s own audit trail (not part of Code Ocean\'s API).' },
  { name: 'Operations', description: 'Health and metrics for load balancers, orchestrators and Prometheus (not part of Code Ocean\'s API).' }
]

async function openapi (app: FastifyInstance, options: OpenApiOptions): Promise<void> {
  // Before swagger's own onRoute hook: it reads each route's schema as it is declared.
  app.addHook('onRoute', declareSecurity)
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
        securitySchemes: securitySchemesOf(options.gatewayHeader === undefined ? {} : { gatewayHeader: options.gatewayHeader })
      },
      tags: OPENAPI_TAGS
    },
    hideUntagged: true,
    refResolver: {
      // Every shared schema has an $id (the openapi test fails on a component without one).
      buildLocalReference: (json) => String(json.$id)
    }
  })
  const ui = swaggerUiOnDemand(app)
  for (const url of DOCS_ROUTES) {
    app.get(url, { config: { operational: true }, schema: { hide: true }, logLevel: 'warn' }, ui.serve)
  }
  app.addHook('onClose', ui.close)
  app.get('/openapi.json', { config: { operational: true }, schema: { hide: true } }, async () => app.swagger())
}

/** A route whose action accepts more proofs than every route does (the audit admin key) lists them. */
function declareSecurity (route: RouteOptions): void {
  const action = route.config?.contract?.action
  const security = securityFor(action)
  // An action's sources include every route's: as many means the same ones.
  if (route.schema === undefined || security.length === CALLER_SECURITY.length) return
  route.schema = { ...route.schema, security }
}

export default fp(openapi, { name: 'openapi', fastify: '5.x' })
