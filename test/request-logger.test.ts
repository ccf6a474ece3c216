// request.log is made the first time something logs through it: a request that logs nothing
// makes no child logger, and one that does logs exactly what an eager child would have.
import type { FastifyBaseLogger } from 'fastify'
import t from 'tap'
import { requestLoggerOnFirstUse } from '../src/request-logger.js'
import { buildTestApp, type TestApp } from './helpers/app.js'
import { createLogSink } from './helpers/log-sink.js'
import { startTestSimulator } from './helpers/simulator.js'

/** Counts the children made of the app's logger from now on. */
function countChildren (proxy: TestApp): () => number {
  let made = 0
  const child = proxy.app.log.child.bind(proxy.app.log)
  proxy.app.log.child = (bindings, options) => {
    made++
    return child(bindings, options)
  }
  return () => made
}

t.test('proxied requests that log nothing make no child logger', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url)
  const started = await proxy.inject({ method: 'POST', url: '/api/v1/computations', payload: { capsule_id: simulator.capsules.analysis } })
  t.equal(started.statusCode, 200)
  const made = countChildren(proxy)
  for (let read = 0; read < 3; read++) {
    const answer = await proxy.inject({ method: 'GET', url: `/api/v1/computations/${started.json<{ id: string }>().id}` })
    t.equal(answer.statusCode, 200)
  }
  t.equal(made(), 0)
  t.equal(proxy.log.audits().length, 4, 'each request still has its audit line')
})

t.test('a request that logs gets its child then, and its lines carry its request id', async (t) => {
  // Nothing listens on port 9: the call fails, and the request logs why.
  const proxy = await buildTestApp(t, 'http://127.0.0.1:9', { UPSTREAM_RETRY_ATTEMPTS: '1' })
  const made = countChildren(proxy)
  const answer = await proxy.inject({ method: 'GET', url: '/api/v1/computations/8d2c6a2e-0c5d-4a8e-9a5e-1c2b3d4e5f60' })
  t.equal(answer.statusCode, 502)
  t.equal(made(), 1)
  const warned = proxy.log.lines().filter((line) => line.msg === 'Code Ocean call failed')
  t.equal(warned.length, 1)
  t.equal(warned[0]?.requestId, answer.headers['x-request-id'])
})

t.test('the logger made on first use has the bindings, level and children of the eager one', async (t) => {
  const sink = createLogSink('info')
  const lazy = requestLoggerOnFirstUse(sink.logger, { requestId: 'request-1' }, { level: 'warn' })
  t.equal(lazy.level, 'warn', 'the level it was given, before it is made')
  lazy.info('not at warn')
  lazy.debug('not at warn')
  lazy.trace('not at warn')
  lazy.silent('never')
  lazy.warn({ detail: 1 }, 'warned')
  lazy.error('failed %s', 'here')
  lazy.fatal('fatal')
  lazy.child({ part: 'retry' }).error('from a child')
  t.equal(lazy.level, 'warn', 'the level of the logger it made')
  lazy.level = 'info'
  lazy.info('at info now')
  t.same(sink.lines().map(({ level, msg, requestId, detail, part }) => ({ level, msg, requestId, detail, part })), [
    { level: 40, msg: 'warned', requestId: 'request-1', detail: 1, part: undefined },
    { level: 50, msg: 'failed here', requestId: 'request-1', detail: undefined, part: undefined },
    { level: 60, msg: 'fatal', requestId: 'request-1', detail: undefined, part: undefined },
    { level: 50, msg: 'from a child', requestId: 'request-1', detail: undefined, part: 'retry' },
    { level: 30, msg: 'at info now', requestId: 'request-1', detail: undefined, part: undefined }
  ])
  const inheriting: FastifyBaseLogger = requestLoggerOnFirstUse(sink.logger, { requestId: 'request-2' }, {})
  t.equal(inheriting.level, 'info', 'no level of its own: its parent\'s')
})
