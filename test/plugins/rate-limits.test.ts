// Per-caller rate limits: runs and other calls have separate budgets per subject, the answer
// past a limit is a 429 with Retry-After and RateLimit headers that reaches nothing upstream,
// and with Redis the counters hold across instances.
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { buildTestApp } from '../helpers/app.js'
import { parsePrometheusText, sampleValue } from '../helpers/prometheus.js'
import { startTcpRelay } from '../helpers/tcp-relay.js'
import { startTestSimulator } from '../helpers/simulator.js'

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
const ALICE = { 'x-forwarded-user': 'alice@example.com', 'x-forwarded-groups': 'proxy-admins' }
const BOB = { 'x-forwarded-user': 'bob@example.com', 'x-forwarded-groups': 'proxy-admins' }

t.test('runs have their own budget per caller; past it, 429 with Retry-After, audited, not forwarded', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, { RATE_LIMIT_RUNS_PER_MINUTE: '2' })
  const run = async (caller: Record<string, string>) =>
    await proxy.inject({ method: 'POST', url: '/api/v1/computations', payload: { capsule_id: simulator.capsules.analysis } }, caller)
  t.equal((await run(ALICE)).statusCode, 200)
  const second = await run(ALICE)
  t.equal(second.statusCode, 200)
  t.equal(second.headers['ratelimit-limit'], '2')
  t.equal(second.headers['ratelimit-remaining'], '0')
  const third = await run(ALICE)
  t.equal(third.statusCode, 429)
  t.equal(third.json().code, 'PROXY_RATE_LIMITED')
  t.match(third.json().message, /at most 2 per minute/)
  t.ok(Number(third.headers['retry-after']) >= 1, 'Retry-After says when')
  t.match(proxy.log.audits().at(-1), { action: 'runCapsule', status: 429, actor: { subject: 'alice@example.com' } })
  t.equal(simulator.requests.length, 2, 'the third run never reached Code Ocean')
  t.equal((await run(BOB)).statusCode, 200, 'another caller has a budget of its own')
  const read = await proxy.inject({ method: 'GET', url: `/api/v1/computations/${String(second.json().id)}` }, ALICE)
  t.equal(read.statusCode, 200, 'reads are counted apart from runs')
})

for (const redis of [false, true]) {
  t.test(`every call but a run counts toward one budget per caller, whichever route it takes${redis ? ' (Redis)' : ''}`, async (t) => {
    const simulator = await startTestSimulator(t)
    const proxy = await buildTestApp(t, simulator.url, {
      RATE_LIMIT_CALLS_PER_MINUTE: '3',
      ...(redis ? { REDIS_URL, RATE_LIMIT_KEY_PREFIX: `test:${randomBytes(6).toString('hex')}:` } : {})
    })
    const { id } = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
    const urls = [`/api/v1/computations/${id}`, `/api/v1/computations/${id}/results/urls?path=a`, `/api/v1/capsules/${simulator.capsules.analysis}/computations`, `/api/v1/computations/${id}`]
    const statuses = []
    for (const url of urls) statuses.push((await proxy.inject({ method: 'GET', url }, ALICE)).statusCode)
    t.equal(statuses.filter((status) => status === 429).length, 1, `three calls over three routes, then 429: ${statuses.join(', ')}`)
    t.equal(statuses.at(-1), 429)
  })
}

t.test('with Redis, a limit holds across two instances', async (t) => {
  const simulator = await startTestSimulator(t)
  const env = { REDIS_URL, RATE_LIMIT_KEY_PREFIX: `test:${randomBytes(6).toString('hex')}:`, RATE_LIMIT_CALLS_PER_MINUTE: '3' }
  const a = await buildTestApp(t, simulator.url, env)
  const b = await buildTestApp(t, simulator.url, env)
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  const get = { method: 'GET', url: `/api/v1/computations/${computation.id}` } as const
  const statuses = []
  for (const proxy of [a, b, a, b]) statuses.push((await proxy.inject({ ...get }, ALICE)).statusCode)
  t.same(statuses, [200, 200, 200, 429], 'three calls in all, whichever instance took them')
  t.equal(simulator.requests.length, 3)
})

t.test('with Redis unreachable, calls go through rather than fail, and it is logged', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, { REDIS_URL: 'redis://127.0.0.1:1', RATE_LIMIT_CALLS_PER_MINUTE: '1' })
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  for (let call = 0; call < 3; call++) {
    t.equal((await proxy.inject({ method: 'GET', url: `/api/v1/computations/${computation.id}` }, ALICE)).statusCode, 200)
  }
  for (let wait = 0; wait < 100 && !proxy.log.lines().some((line) => /Redis for rate limits is unreachable/.test(String(line.msg))); wait++) {
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  t.ok(proxy.log.lines().some((line) => /Redis for rate limits is unreachable/.test(String(line.msg))))
})

t.test('with Redis stalled, calls go through unlimited, counted in the metrics, with one warning for them all', async (t) => {
  const simulator = await startTestSimulator(t)
  const redis = new URL(REDIS_URL)
  const relay = await startTcpRelay(t, { host: redis.hostname, port: Number(redis.port) })
  const proxy = await buildTestApp(t, simulator.url, {
    REDIS_URL: `redis://127.0.0.1:${relay.port}`,
    RATE_LIMIT_KEY_PREFIX: `test:${randomBytes(6).toString('hex')}:`,
    RATE_LIMIT_CALLS_PER_MINUTE: '1'
  })
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  const get = async () => await proxy.inject({ method: 'GET', url: `/api/v1/computations/${computation.id}` }, ALICE)
  const counted = await get()
  t.equal(counted.headers['ratelimit-remaining'], '0', 'the counters answer before the stall')
  relay.stall()
  for (let call = 0; call < 3; call++) t.equal((await get()).statusCode, 200, 'past the limit, but the counters cannot say so')
  t.ok(relay.held > 0, 'the commands were held by the stall')
  const skipped = sampleValue(parsePrometheusText((await proxy.app.inject({ method: 'GET', url: '/metrics' })).body), 'codeocean_proxy_rate_limit_checks_skipped_total')
  t.equal(skipped, 3)
  const warnings = proxy.log.lines().filter((line) => /Redis for rate limits is unreachable or not answering/.test(String(line.msg)))
  t.match(warnings, [{ level: 40, errMessage: /timed out/i, occurrences: 1 }], 'one warning, not one per call')
})
