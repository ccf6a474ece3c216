// One greedy caller cannot starve the others, through the real app: their share of the calls to
// Code Ocean is capped (UPSTREAM_MAX_PER_CALLER), and failures of their one computation do not
// open the circuit everyone shares (BREAKER_MIN_PATHS); failures spread over several calls, or a
// Code Ocean that cannot be reached, still do.
import t from 'tap'
import { buildTestApp, DEFAULT_CALLER } from '../helpers/app.js'
import { startTestSimulator } from '../helpers/simulator.js'

/** Another caller with the same rights as the default one. */
const OTHER = { 'x-forwarded-user': 'other@example.com', 'x-forwarded-groups': 'proxy-admins' }

async function until (condition: () => boolean): Promise<void> {
  for (let waited = 0; !condition(); waited += 10) {
    if (waited > 10_000) throw new Error('the condition never held')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

t.test('80 hanging reads of one caller take their share only: another caller gets 200 and /readyz stays green', async (t) => {
  const simulator = await startTestSimulator(t)
  const hog = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  const other = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  simulator.inject({ method: 'GET', path: new RegExp(hog.id), hang: true })
  // The defaults: 64 calls at once, 16 of them (running or waiting) for any one caller.
  const proxy = await buildTestApp(t, simulator.url)
  const hanging = Array.from({ length: 80 }, async () => await proxy.inject({ method: 'GET', url: `/api/v1/computations/${hog.id}/results/urls?path=a` }, DEFAULT_CALLER))
  await until(() => simulator.requests.length >= 16)

  const answer = await proxy.inject({ method: 'GET', url: `/api/v1/computations/${other.id}` }, OTHER)
  t.equal(answer.statusCode, 200, 'the other caller is served while the 16 still hang')
  t.equal((await proxy.inject({ method: 'GET', url: '/readyz' }, null)).statusCode, 200)

  const statuses = (await Promise.all(hanging)).map((response) => response.statusCode)
  t.equal(statuses.filter((status) => status === 429).length, 64, 'the rest were refused at once')
  t.equal(statuses.filter((status) => status === 504).length, 16, 'the caller\'s share timed out at Code Ocean')
  t.equal(simulator.requests.filter((request) => request.url.includes(hog.id)).length, 16, 'the refused calls were never sent')
  const share = proxy.log.audits().find((audit) => audit.errorCode === 'PROXY_UPSTREAM_SHARE_EXCEEDED')
  t.match(share, { status: 429, errorClass: 'overloaded', upstreamStatus: null })
})

t.test('repeated 504s on one caller\'s computation do not open the circuit for everyone', async (t) => {
  const simulator = await startTestSimulator(t)
  const hog = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  const other = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  simulator.inject({ method: 'GET', path: new RegExp(hog.id), status: 504, body: { message: 'gateway timeout' } })
  const proxy = await buildTestApp(t, simulator.url, { UPSTREAM_RETRY_BASE_MS: '1' })
  for (let i = 0; i < 5; i++) {
    t.equal((await proxy.inject({ method: 'GET', url: `/api/v1/computations/${hog.id}` }, DEFAULT_CALLER)).statusCode, 504)
  }
  t.equal(simulator.requests.length, 15, 'each read was tried three times: 15 failures of one call')
  t.equal((await proxy.inject({ method: 'GET', url: `/api/v1/computations/${other.id}` }, OTHER)).statusCode, 200)
  t.equal((await proxy.inject({ method: 'GET', url: '/readyz' }, null)).statusCode, 200)
})

t.test('failures spread over several calls still open the circuit', async (t) => {
  const simulator = await startTestSimulator(t)
  simulator.inject({ method: 'GET', status: 503 })
  const proxy = await buildTestApp(t, simulator.url, { UPSTREAM_RETRY_ATTEMPTS: '1', BREAKER_FAILURES: '3', BREAKER_COOLDOWN_MS: '60000' })
  const ids = [0, 1, 2, 3].map(() => simulator.addComputation({ capsule_id: simulator.capsules.analysis }).id)
  for (const id of ids.slice(0, 2)) t.equal((await proxy.inject({ method: 'GET', url: `/api/v1/computations/${id}` })).statusCode, 503)
  t.equal((await proxy.inject({ method: 'GET', url: `/api/v1/computations/${ids[0]}` })).statusCode, 503, 'a third failure, but of a call seen already')
  t.equal((await proxy.inject({ method: 'GET', url: `/api/v1/computations/${ids[2]}` })).statusCode, 503)
  const refused = await proxy.inject({ method: 'GET', url: `/api/v1/computations/${ids[3]}` })
  t.equal(refused.json().code, 'PROXY_UPSTREAM_CIRCUIT_OPEN', 'three different calls failed: Code Ocean itself is unwell')
  t.equal(simulator.requests.length, 4)
})

t.test('a Code Ocean that cannot be reached opens the circuit, even on one call', async (t) => {
  const proxy = await buildTestApp(t, 'http://127.0.0.1:1', { UPSTREAM_RETRY_ATTEMPTS: '1', BREAKER_FAILURES: '3', BREAKER_COOLDOWN_MS: '60000' })
  const url = '/api/v1/computations/5f5c3c4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f'
  for (let i = 0; i < 3; i++) t.equal((await proxy.inject({ method: 'GET', url })).json().code, 'PROXY_UPSTREAM_UNREACHABLE')
  t.equal((await proxy.inject({ method: 'GET', url })).json().code, 'PROXY_UPSTREAM_CIRCUIT_OPEN')
})

t.test('a read paused before its retry keeps its place in the caller\'s share, so the retry is never refused for it', async (t) => {
  const simulator = await startTestSimulator(t)
  const polled = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  const other = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  simulator.inject({ method: 'GET', path: `/api/v1/computations/${polled.id}`, status: 503, headers: { 'retry-after': '0' }, times: 1 })
  // Held at Code Ocean: before the fix, it took the share while the poll paused, and the poll's retry was refused.
  simulator.inject({ method: 'GET', path: `/api/v1/computations/${other.id}`, hang: true })
  const proxy = await buildTestApp(t, simulator.url, { UPSTREAM_MAX_PER_CALLER: '1', UPSTREAM_RETRY_BASE_MS: '1' })
  await proxy.app.ready()
  const { upstream } = proxy.app
  const call = (id: string) => ({ operation: 'getComputation', method: 'GET' as const, path: `/api/v1/computations/${id}`, headers: { authorization: upstream.credential.authorization() }, caller: 'gateway:alice@example.com' })

  let meanwhile: ReturnType<typeof upstream.fetch> | undefined
  const poll = await upstream.fetch(call(polled.id), {
    retries: true,
    // Logged as the pause begins: the same caller asks for something else then.
    log: { info: () => { meanwhile ??= upstream.fetch(call(other.id), { retries: false, log: { info: () => {} } }) } }
  })

  t.match(poll, { ok: true, answer: { status: 200 }, outcome: { attempts: 2, sent: true } }, 'the retry went out and was answered')
  t.match(await meanwhile, { ok: false, outcome: { failure: { errorClass: 'overloaded', error: { code: 'PROXY_UPSTREAM_SHARE_EXCEEDED' } }, sent: false } },
    'the call made during the pause was the one refused: the share was full')
  t.equal(simulator.requests.filter((request) => request.path.includes(other.id)).length, 0, 'and it never reached Code Ocean')
  t.equal(upstream.limiter.active, 0)
  // The share is whole again once the poll has its answer.
  t.match(await upstream.fetch(call(polled.id), { retries: false, log: { info: () => {} } }), { ok: true, answer: { status: 200 } })
})
