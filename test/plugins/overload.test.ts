// Load shedding through the real app: with a threshold the process is over, API calls get 503
// PROXY_OVERLOADED with Retry-After, are audited and never forwarded; liveness and metrics still
// answer and readiness turns red.
import t from 'tap'
import { createServiceKey } from '../../src/identity/service-keys.js'
import { buildTestApp } from '../helpers/app.js'
import { storeCalls } from '../helpers/prometheus.js'
import { startTestSimulator } from '../helpers/simulator.js'

t.test('over a forced threshold, calls are refused with 503 and Retry-After, audited, not forwarded', async (t) => {
  const simulator = await startTestSimulator(t)
  // Any process uses more than one byte of heap: overloaded from the first sample (1 s) on.
  const proxy = await buildTestApp(t, simulator.url, { OVERLOAD_MAX_HEAP_USED_BYTES: '1', OVERLOAD_RETRY_AFTER_SECONDS: '7' })
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  const url = `/api/v1/computations/${computation.id}`
  let response = await proxy.inject({ method: 'GET', url })
  for (let attempt = 0; attempt < 60 && response.statusCode === 200; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    response = await proxy.inject({ method: 'GET', url })
  }
  t.equal(response.statusCode, 503)
  t.equal(response.headers['retry-after'], '7')
  t.match(response.json(), { code: 'PROXY_OVERLOADED', message: 'The proxy is overloaded (its heap is over OVERLOAD_MAX_HEAP_USED_BYTES); nothing was sent to Code Ocean. Retry after the time given in Retry-After.' })
  const forwarded = simulator.requests.length
  t.equal((await proxy.inject({ method: 'POST', url: '/api/v1/computations', payload: { capsule_id: simulator.capsules.analysis } })).statusCode, 503)
  t.equal(simulator.requests.length, forwarded, 'nothing more reached Code Ocean')
  const refused = proxy.log.audits().filter((audit) => audit.stage === 'completed' && audit.status === 503)
  t.equal(refused.length, 2, 'both refusals are audited')
  // Shed before the caller is proven: the refusal costs no identity work, so its record has no actor.
  t.match(refused[0], { action: 'getComputation', errorCode: 'PROXY_OVERLOADED', actor: null })
  t.equal((await proxy.inject({ method: 'GET', url: '/livez' }, null)).statusCode, 200, 'liveness still answers')
  t.equal((await proxy.inject({ method: 'GET', url: '/metrics' }, null)).statusCode, 200, 'and metrics')
  const ready = await proxy.inject({ method: 'GET', url: '/readyz' }, null)
  t.equal(ready.statusCode, 503, 'readiness turns red')
  t.same(ready.json().checks.load, { ok: false, message: 'overloaded: new requests are refused until it recovers' })
})

t.test('each pressure is named in the refusal', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, { OVERLOAD_MAX_RSS_BYTES: '1' })
  let response = await proxy.inject({ method: 'GET', url: '/api/v1/computations' })
  for (let attempt = 0; attempt < 60 && response.statusCode !== 503; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    response = await proxy.inject({ method: 'GET', url: '/api/v1/computations' })
  }
  t.match(response.json(), { code: 'PROXY_OVERLOADED', message: /its memory is over OVERLOAD_MAX_RSS_BYTES/ })
  t.equal(response.headers['retry-after'], '5', 'the default pause')
})

t.test('shedding costs no identity work: a caller with a service key is refused without its key being looked up', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, { OVERLOAD_MAX_HEAP_USED_BYTES: '1' })
  const { key } = await createServiceKey(proxy.store, { subject: 'flood', groups: [] })
  const lookups = async (): Promise<number> => await storeCalls(proxy.app, 'findServiceKey')
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  const call = { method: 'GET', url: `/api/v1/computations/${computation.id}`, headers: { authorization: `Bearer ${key}` } } as const
  // Overloaded from the first sample (1 s) on; every call before that is served and proves its caller.
  let response = await proxy.inject(call, {})
  for (let attempt = 0; attempt < 60 && response.statusCode !== 503; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    response = await proxy.inject(call, {})
  }
  t.equal(response.statusCode, 503)
  const before = await lookups()
  for (let call = 0; call < 5; call++) t.equal((await proxy.inject({ method: 'GET', url: `/api/v1/computations/${computation.id}`, headers: { authorization: `Bearer ${key}` } }, {})).statusCode, 503)
  t.equal(await lookups(), before, 'five refusals, no key looked up')
  t.equal(simulator.requests.filter((request) => request.method === 'GET').length, proxy.log.audits().filter((audit) => audit.status === 200).length, 'only the calls served reached Code Ocean')
})
