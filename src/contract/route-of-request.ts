// A request's route options (its contract, schema and URL), built once per request. Fastify's
// request.routeOptions builds a new object of a dozen fields at every read, and the proxy's
// hooks read it some fifteen times a request.
import type { FastifyRequest } from 'fastify'

const BUILT = Symbol('route options, once built')

type Built = FastifyRequest & { [BUILT]?: FastifyRequest['routeOptions'] }

/**
 * request.routeOptions, built at the first read and kept while the request stays on its route.
 * The one move Fastify makes is reply.callNotFound(), to the 404 route (whose URL is undefined):
 * what was built for the route it left is then built again.
 */
export function routeOf (request: FastifyRequest): FastifyRequest['routeOptions'] {
  const built = request as Built
  const held = built[BUILT]
  if (held !== undefined && (held.url === undefined || !request.is404)) return held
  built[BUILT] = request.routeOptions
  return built[BUILT]
}
