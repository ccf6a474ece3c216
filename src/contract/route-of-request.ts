// A request's route options (its contract, schema and URL), built once per request. Fastify's
// request.routeOptions builds a new object of a dozen fields at every read, and the proxy's
// hooks read it some fifteen times a request.
import type { FastifyRequest } from 'fastify'

const BUILT = Symbol('route options, once built')

type Built = FastifyRequest & { [BUILT]?: FastifyRequest['routeOptions'] }

/** request.routeOptions as at the first read: a route's options do not change while it serves. */
export function routeOf (request: FastifyRequest): FastifyRequest['routeOptions'] {
  const built = request as Built
  built[BUILT] ??= request.routeOptions
  return built[BUILT]
}
