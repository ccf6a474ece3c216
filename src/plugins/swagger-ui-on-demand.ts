// Swagger UI at /docs, loaded on the first visit rather than at start: its modules (about 4 MB of
// a process's memory) are of no use to a proxy nobody browses. It runs in a Fastify instance of
// its own, matching URLs as the app does, and answers through inject, so the app's hooks (request
// id, shutdown) and its error answers apply to its pages as to any other. Only the request
// headers its answers depend on reach it. A load that fails is tried again on the next visit,
// and never fails the app's closing.
import type { FastifySwaggerUiOptions } from '@fastify/swagger-ui'
import Fastify, { type FastifyInstance, type FastifyPluginAsync, type FastifyPluginCallback, type FastifyReply, type FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { BadRequest } from '../errors.js'
import { ROUTER_OPTIONS } from '../router-options.js'

export const DOCS_PREFIX = '/docs'
/** Swagger UI's own URLs, and no others: any other URL under /docs is unknown, as everywhere. */
export const DOCS_ROUTES = [DOCS_PREFIX, `${DOCS_PREFIX}/json`, `${DOCS_PREFIX}/yaml`, `${DOCS_PREFIX}/static/*`] as const

/** The request headers Swagger UI's answers depend on (content negotiation, revalidation, ranges). */
const UI_REQUEST_HEADERS = ['accept', 'accept-encoding', 'if-none-match', 'if-modified-since', 'range', 'if-range']
/** Headers of the inner answer that the outer reply sets itself, from the body it sends. */
const OWN_HEADERS = new Set(['content-length', 'connection', 'date', 'keep-alive', 'transfer-encoding'])
/** Statuses passed on as Swagger UI answered them; other failures become the app's own answers. */
const PASSED_ON = (status: number): boolean => status < 400 || status === 416

/** @fastify/swagger-ui's plugin, or one that serves its URLs the same way. */
export type SwaggerUiPlugin = FastifyPluginCallback<FastifySwaggerUiOptions> | FastifyPluginAsync<FastifySwaggerUiOptions>

export interface SwaggerUiOnDemand {
  serve: (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply>
  close: () => Promise<void>
}

async function loadSwaggerUi (): Promise<SwaggerUiPlugin> {
  return (await import('@fastify/swagger-ui')).default
}

/** Swagger UI for `app` (which has @fastify/swagger), made by the first request for it. */
export function swaggerUiOnDemand (app: FastifyInstance, load: () => Promise<SwaggerUiPlugin> = loadSwaggerUi): SwaggerUiOnDemand {
  let made: Promise<FastifyInstance> | undefined
  const make = async (): Promise<FastifyInstance> => {
    const inner = Fastify({ exposeHeadRoutes: false, routerOptions: ROUTER_OPTIONS, loggerInstance: app.log, disableRequestLogging: true })
    try {
      // Swagger UI reads the document from the instance it is registered on, by this plugin's name.
      await inner.register(fp(async (instance) => { instance.decorate('swagger', app.swagger.bind(app)) }, { name: '@fastify/swagger' }))
      await inner.register(await load(), { routePrefix: DOCS_PREFIX })
      await inner.ready()
      return inner
    } catch (error) {
      await inner.close()
      throw error
    }
  }
  return {
    async serve (request, reply) {
      made ??= make().catch((error: unknown) => {
        made = undefined
        throw error
      })
      const inner = await made
      const headers = Object.fromEntries(UI_REQUEST_HEADERS.flatMap((name) => request.headers[name] === undefined ? [] : [[name, request.headers[name] as string]]))
      const answer = await inner.inject({ method: 'GET', url: request.url, headers })
      if (answer.statusCode === 404) {
        // A file Swagger UI does not have gets the app's own 404, as any URL it does not know.
        reply.callNotFound()
        return reply
      }
      if (!PASSED_ON(answer.statusCode)) {
        if (answer.statusCode < 500) throw new BadRequest('Swagger UI cannot serve this URL.')
        throw new Error(`Swagger UI answered ${answer.statusCode}`)
      }
      for (const [name, value] of Object.entries(answer.headers)) {
        if (!OWN_HEADERS.has(name)) reply.header(name, value)
      }
      return await reply.code(answer.statusCode).send(answer.rawPayload)
    },
    async close () {
      await made?.then(async (inner) => { await inner.close() }, () => {})
    }
  }
}
