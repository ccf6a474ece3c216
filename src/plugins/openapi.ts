// The OpenAPI document, generated from the routes' own schemas, served at /openapi.json with
// Swagger UI at /docs. Components are named by their `$id` (Computation, RunParams, …); security
// schemes and requirements come from the identity sources' list. Both are operational, like
// health and metrics: reading the documentation is not an API call, so it is neither identified
// nor audited.
//
// Swagger UI is loaded on the first visit to /docs, not at start: its modules (about 4 MB of a
// process's memory) are of no use to a proxy nobody browses. It runs in a Fastify instance of its
// own, which answers through inject, so the proxy's own hooks (request id, shutdown) apply to
// its pages as to any other answer.
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type RouteOptions } from 'fastify'
import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import { securityFor, securitySchemesOf } from '../identity/sources.js'

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
  const ui = lazySwaggerUi(app)
  // Swagger UI's own routes, and no others: any other URL is unknown here as everywhere.
  for (const url of [DOCS_PREFIX, `${DOCS_PREFIX}/json`, `${DOCS_PREFIX}/yaml`, `${DOCS_PREFIX}/static/*`]) {
    app.get(url, { config: { operational: true }, schema: { hide: true }, logLevel: 'warn' }, ui.serve)
  }
  app.addHook('onClose', ui.close)
  app.get('/openapi.json', { config: { operational: true }, schema: { hide: true } }, async () => app.swagger())
}

const DOCS_PREFIX = '/docs'
/** The request headers Swagger UI's answers depend on (content negotiation, revalidation, ranges): no others reach it. */
const UI_REQUEST_HEADERS = ['accept', 'accept-encoding', 'if-none-match', 'if-modified-since', 'range', 'if-range']
/** Headers of the inner answer that the outer reply sets itself, from the body it sends. */
const OWN_HEADERS = new Set(['content-length', 'connection', 'date', 'keep-alive', 'transfer-encoding'])

/** Swagger UI, made on the first request for it and serving every one after. */
function lazySwaggerUi (app: FastifyInstance): { serve: (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply>, close: () => Promise<void> } {
  let made: Promise<FastifyInstance> | undefined
  const make = async (): Promise<FastifyInstance> => {
    const { default: swaggerUi } = await import('@fastify/swagger-ui')
    const inner = Fastify({ exposeHeadRoutes: false })
    // Swagger UI reads the document from the instance it is registered on, by this plugin's name.
    await inner.register(fp(async (instance) => { instance.decorate('swagger', app.swagger.bind(app)) }, { name: '@fastify/swagger' }))
    await inner.register(swaggerUi, { routePrefix: DOCS_PREFIX })
    await inner.ready()
    return inner
  }
  return {
    async serve (request, reply) {
      made ??= make()
      const inner = await made
      const headers = Object.fromEntries(UI_REQUEST_HEADERS.flatMap((name) => request.headers[name] === undefined ? [] : [[name, request.headers[name] as string]]))
      const answer = await inner.inject({ method: 'GET', url: request.url, headers })
      // A file Swagger UI does not have gets the proxy's own 404, as any URL it does not know.
      if (answer.statusCode === 404) {
        reply.callNotFound()
        return reply
      }
      for (const [name, value] of Object.entries(answer.headers)) {
        if (!OWN_HEADERS.has(name)) reply.header(name, value)
      }
      return await reply.code(answer.statusCode).send(answer.rawPayload)
    },
    async close () {
      if (made !== undefined) await (await made).close()
    }
  }
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
