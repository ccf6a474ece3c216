// Fail-closed by construction: every route registered after this plugin must carry a route
// contract (see contract/route-contract.ts), and only a route outside the mirrored API may
// instead be marked operational. A route that has neither stops the app before it listens, so an
// endpoint added without a contract can never be forwarded with the proxy's token unchecked.
import type { FastifyInstance, RouteOptions } from 'fastify'
import fp from 'fastify-plugin'

export interface RouteContractsOptions {
  /** Where the mirrored Code Ocean API is served: every route under it needs a contract. */
  apiPrefix: string
}

/** Why a route may not be served; undefined when it may. */
export function contractProblem (route: Pick<RouteOptions, 'method' | 'url' | 'config' | 'schema'>, apiPrefix: string): string | undefined {
  const name = `${String(route.method)} ${route.url}`
  const { contract, operational } = route.config ?? {}
  if (contract !== undefined && operational === true) return `${name} has a contract and is marked operational: it is one or the other`
  if (contract !== undefined) {
    const operationId = route.schema?.operationId
    return operationId === contract.operation ? undefined : `${name}: its contract names operation ${contract.operation}, its schema ${String(operationId)}`
  }
  if (route.url.startsWith(`${apiPrefix}/`)) return `${name} has no route contract: every route under ${apiPrefix} needs one`
  return operational === true ? undefined : `${name} has no route contract and is not marked operational`
}

async function routeContracts (app: FastifyInstance, options: RouteContractsOptions): Promise<void> {
  // Checked once every plugin has had its say: a plugin's own onRoute hook may mark the routes
  // of a plugin it registers (Swagger UI's) after this one has seen them.
  const routes: RouteOptions[] = []
  app.addHook('onRoute', (route) => { routes.push(route) })
  app.addHook('onReady', async () => {
    const problems = routes.flatMap((route) => contractProblem(route, options.apiPrefix) ?? [])
    if (problems.length > 0) throw new Error(`routes without a contract: ${problems.join('; ')}`)
  })
}

export default fp(routeContracts, { name: 'route-contracts', fastify: '5.x' })
