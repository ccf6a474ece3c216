// routeOf(request) is the request's route options, built at the first read and the same object
// at every later one (Fastify's request.routeOptions builds a new one at each read), for every
// kind of request: a route's, an unknown URL's, one the router could not decode, and one moved to
// the 404 route.
import Fastify, { type FastifyRequest } from 'fastify'
import t from 'tap'
import { routeOf } from '../../src/contract/route-of-request.js'
import { buildTestApp } from '../helpers/app.js'
import { startTestSimulator } from '../helpers/simulator.js'

t.test('a request\'s route options are built once, and are its route\'s', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url)
  const seen: Array<{ same: boolean, fresh: boolean, url: string | undefined, operation: string | undefined }> = []
  proxy.app.addHook('onResponse', async (request: FastifyRequest) => {
    const first = routeOf(request)
    seen.push({ same: routeOf(request) === first, fresh: request.routeOptions !== first, url: first.url, operation: first.config.contract?.operation })
  })
  const started = await proxy.inject({ method: 'POST', url: '/api/v1/computations', payload: { capsule_id: simulator.capsules.analysis } })
  t.equal(started.statusCode, 200)
  const read = await proxy.inject({ method: 'GET', url: `/api/v1/computations/${started.json<{ id: string }>().id}` })
  t.equal(read.statusCode, 200)
  const unknown = await proxy.inject({ method: 'GET', url: '/api/v1/no-such-thing' })
  t.equal(unknown.statusCode, 404)
  const undecodable = await proxy.inject({ method: 'GET', url: '/api/v1/computations/%E0%A4%A' })
  t.equal(undecodable.statusCode, 400)
  t.same(seen, [
    { same: true, fresh: true, url: '/api/v1/computations', operation: 'runCapsule' },
    { same: true, fresh: true, url: '/api/v1/computations/:computation_id', operation: 'getComputation' },
    { same: true, fresh: true, url: undefined, operation: undefined }
  ])
  // The undecodable one is answered outside the routes' hooks, with Fastify's own request class
  // (no decorators): its completed record reads its route options too.
  t.same(proxy.log.audits().map((audit) => audit.status), [200, 200, 404, 400], 'each is audited')
})

t.test('a request moved to the 404 route by reply.callNotFound() gets the 404 route\'s options', async (t) => {
  const app = Fastify()
  t.teardown(async () => { await app.close() })
  const seen: Array<string | undefined> = []
  app.setNotFoundHandler(async (request, reply) => {
    seen.push(routeOf(request).url)
    return await reply.code(404).send({ message: 'not here' })
  })
  app.get('/moved', async (request, reply) => {
    seen.push(routeOf(request).url)
    reply.callNotFound()
    return reply
  })
  const answer = await app.inject({ method: 'GET', url: '/moved' })
  t.equal(answer.statusCode, 404)
  t.same(seen, ['/moved', undefined])
})
