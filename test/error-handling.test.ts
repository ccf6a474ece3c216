// Errors raised inside the proxy: unexpected ones are a 500 that hides the cause and logs it;
// other client errors keep their status; a 503 says when to retry.
import t from 'tap'
import { routeContract } from '../src/contract/route-contract.js'
import { ProxyUnavailable } from '../src/errors.js'
import { buildTestApp } from './helpers/app.js'
import { startTestSimulator } from './helpers/simulator.js'

t.test('errors thrown inside the proxy are shaped, logged and audited', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url)
  // Routes like the mirrored ones (a contract, a caller the policy lets through), whose handlers fail.
  const declared = (operation: string): { config: object, schema: object } => ({
    config: { contract: routeContract({ operation, action: 'read', resource: 'path: computation_id' }) },
    schema: { operationId: operation, hide: true }
  })
  proxy.app.get('/test/crash/:computation_id', declared('testCrash'), async () => { throw new Error('internal detail /srv/secret/path') })
  proxy.app.get('/test/conflict/:computation_id', declared('testConflict'), async () => { throw Object.assign(new Error('already exists'), { statusCode: 409 }) })
  proxy.app.get('/test/unavailable/:computation_id', declared('testUnavailable'), async () => { throw new ProxyUnavailable() })

  const crash = await proxy.inject({ method: 'GET', url: '/test/crash/c1' })
  t.equal(crash.statusCode, 500)
  t.match(crash.json(), { statusCode: 500, code: 'PROXY_INTERNAL_ERROR', error: 'Internal Server Error' })
  t.notMatch(crash.body, /internal detail|\/srv/, 'the cause is not shown to the caller')
  const logged = proxy.log.lines().find((line) => line.level === 50)
  t.match(logged, { msg: 'request failed inside the proxy', err: { message: /internal detail/ } }, 'but it is logged')

  const conflict = await proxy.inject({ method: 'GET', url: '/test/conflict/c1' })
  t.equal(conflict.statusCode, 409)
  t.match(conflict.json(), { code: 'PROXY_BAD_REQUEST', message: 'already exists', error: 'Conflict' })

  const unavailable = await proxy.inject({ method: 'GET', url: '/test/unavailable/c1' })
  t.equal(unavailable.statusCode, 503)
  t.equal(unavailable.headers['retry-after'], '5')
  t.equal(unavailable.json().code, 'PROXY_UNAVAILABLE')

  t.same(proxy.log.audits().map((audit) => [audit.status, audit.errorCode]), [
    [500, 'PROXY_INTERNAL_ERROR'], [409, 'PROXY_BAD_REQUEST'], [503, 'PROXY_UNAVAILABLE']
  ])
})
