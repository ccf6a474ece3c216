// Swagger UI made on the first visit: a load that fails is tried again on the next visit and
// never fails closing; what Swagger UI cannot serve becomes the app's own answer. (Through the
// whole app, its pages and assets: test/plugins/operational-requests.test.ts.)
import swagger from '@fastify/swagger'
import type { FastifySwaggerUiOptions } from '@fastify/swagger-ui'
import Fastify, { type FastifyInstance, type FastifyPluginAsync } from 'fastify'
import t, { type Test } from 'tap'
import { DOCS_ROUTES, swaggerUiOnDemand, type SwaggerUiPlugin } from '../../src/plugins/swagger-ui-on-demand.js'

async function appWith (t: Test, load: () => Promise<SwaggerUiPlugin>): Promise<FastifyInstance> {
  const app = Fastify()
  await app.register(swagger, { openapi: { info: { title: 'test', version: '1' } } })
  const ui = swaggerUiOnDemand(app, load)
  for (const url of DOCS_ROUTES) app.get(url, ui.serve)
  app.addHook('onClose', ui.close)
  t.teardown(() => app.close())
  return app
}

t.test('a load that failed is tried again on the next visit, and closing after it succeeds', async (t) => {
  let loads = 0
  const app = await appWith(t, async () => {
    loads++
    if (loads === 1) throw new Error('the module is not there')
    return (await import('@fastify/swagger-ui')).default
  })
  t.equal((await app.inject({ method: 'GET', url: '/docs/json' })).statusCode, 500, 'the first visit fails')
  const second = await app.inject({ method: 'GET', url: '/docs/json' })
  t.equal(second.statusCode, 200, 'the second loads it')
  t.equal(second.json().info.title, 'test', 'and serves the app\'s document')
  await app.inject({ method: 'GET', url: '/docs/yaml' })
  t.equal(loads, 2, 'once loaded, it is kept')
  await app.close()
})

t.test('closing after a load that failed, with none since, succeeds', async (t) => {
  const app = await appWith(t, async () => { throw new Error('the module is not there') })
  t.equal((await app.inject({ method: 'GET', url: '/docs' })).statusCode, 500)
  await t.resolves(app.close())
})

t.test('a Swagger UI that fails or refuses gets the app\'s own answer, not its own', async (t) => {
  const failing: FastifyPluginAsync<FastifySwaggerUiOptions> = async (instance, options) => {
    instance.get(`${String(options.routePrefix)}/json`, async (_request, reply) => await reply.code(503).send({ own: 'body' }))
    instance.get(`${String(options.routePrefix)}/yaml`, async (_request, reply) => await reply.code(403).send({ own: 'body' }))
  }
  const app = await appWith(t, async () => failing)
  const failed = await app.inject({ method: 'GET', url: '/docs/json' })
  t.equal(failed.statusCode, 500)
  t.notMatch(failed.body, /own/)
  const refused = await app.inject({ method: 'GET', url: '/docs/yaml' })
  t.equal(refused.statusCode, 400)
  t.match(refused.json(), { code: 'PROXY_BAD_REQUEST', message: 'Swagger UI cannot serve this URL.' })
})
