// Idempotency keys through the real app: a retried run never launches a second computation,
// whichever instance the retry reaches; a reused key with another body is 422; a retry while
// the first is out is 409; an outcome nobody knows is never retried blindly.
import { createServer, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { answerKeyFrom, openAnswer } from '../../src/idempotency/sealed-answers.js'
import { pruneExpiredKeys } from '../../src/idempotency/settlement.js'
import { openSqliteDatabase } from '../../src/store/sqlite-database.js'
import { StoreError } from '../../src/store/store.js'
import { abandon } from '../helpers/abandon.js'
import { buildTestApp, type TestApp } from '../helpers/app.js'
import { createLogSink } from '../helpers/log-sink.js'
import { TEST_HMAC_KEY } from '../helpers/secrets.js'
import { startTestSimulator } from '../helpers/simulator.js'
import { TEST_DATABASE_URL, forEachStore } from '../helpers/stores.js'

const ALICE = { 'x-forwarded-user': 'alice@example.com', 'x-forwarded-groups': 'team-a' }
const BOB = { 'x-forwarded-user': 'bob@example.com', 'x-forwarded-groups': 'team-b' }
const KEY = '5b0e8a52-6a8c-4e5b-9e0c-2f7d1d2c9a11'

async function run (proxy: TestApp, body: object, key: string | null = KEY, caller = ALICE) {
  return await proxy.inject({ method: 'POST', url: '/api/v1/computations', payload: body, headers: key === null ? {} : { 'idempotency-key': key } }, caller)
}

/** POSTs seen by the simulator: launched runs, or attempts at one. */
function runsSeen (simulator: Awaited<ReturnType<typeof startTestSimulator>>): number {
  return simulator.requests.filter((request) => request.method === 'POST' && request.path === '/api/v1/computations').length
}

/** Polls until the key's first run is no longer in flight; its final answer. */
async function settled (t: Test, proxy: TestApp, body: object) {
  for (let attempt = 0; attempt < 100; attempt++) {
    const response = await run(proxy, body)
    if (response.statusCode !== 409 || response.json().code !== 'PROXY_IDEMPOTENCY_IN_FLIGHT') return response
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  t.fail('the first run never settled')
  throw new Error('unsettled')
}

t.test('a retry with the same key and body replays the first answer and launches nothing', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, { POLICY_FILE: '' })
  const body = { capsule_id: simulator.capsules.analysis, parameters: ['1'] }
  const first = await run(proxy, body)
  t.equal(first.statusCode, 200)
  t.notOk(first.headers['idempotent-replayed'])
  // Fields in another order are the same run.
  const again = await run(proxy, { parameters: ['1'], capsule_id: simulator.capsules.analysis })
  t.equal(again.statusCode, 200)
  t.equal(again.headers['idempotent-replayed'], 'true')
  t.equal(again.body, first.body, 'the same answer, byte for byte')
  t.equal(runsSeen(simulator), 1, 'one computation launched')
  t.match(proxy.log.audits().at(-1), { answerSource: 'replay', upstreamAttempts: 0, resource: { computation_id: first.json().id } })
  t.equal((await proxy.inject({ method: 'GET', url: `/api/v1/computations/${String(first.json().id)}` }, ALICE)).statusCode, 200, 'the replayed run is still the caller\'s')
})

t.test('the same key with another body is 422, and a key is its caller\'s own', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, { POLICY_FILE: '' })
  t.equal((await run(proxy, { capsule_id: simulator.capsules.analysis })).statusCode, 200)
  const other = await run(proxy, { capsule_id: simulator.capsules.analysis, parameters: ['2'] })
  t.equal(other.statusCode, 422)
  t.equal(other.json().code, 'PROXY_IDEMPOTENCY_KEY_REUSED')
  const bobs = await run(proxy, { capsule_id: simulator.capsules.analysis, parameters: ['2'] }, KEY, BOB)
  t.equal(bobs.statusCode, 200, 'Bob\'s key of the same text is another key')
  t.equal(runsSeen(simulator), 2)
})

t.test('a caller who drops the connection and retries gets the run that was made, once it is known', async (t) => {
  const simulator = await startTestSimulator(t)
  simulator.inject({ method: 'POST', delayMs: 300, times: 1 })
  const proxy = await buildTestApp(t, simulator.url, { POLICY_FILE: '' })
  const body = { capsule_id: simulator.capsules.analysis }
  const address = new URL(await proxy.app.listen({ host: '127.0.0.1', port: 0 }))
  await abandon(`${address.origin}/api/v1/computations`, { method: 'POST', headers: { ...ALICE, 'idempotency-key': KEY }, body: JSON.stringify(body), afterMs: 50 })
  const inFlight = await run(proxy, body)
  t.equal(inFlight.statusCode, 409, 'while the first is still out')
  t.equal(inFlight.json().code, 'PROXY_IDEMPOTENCY_IN_FLIGHT')
  t.equal(inFlight.headers['retry-after'], '1')
  const retried = await settled(t, proxy, body)
  t.equal(retried.statusCode, 200)
  t.equal(retried.headers['idempotent-replayed'], 'true')
  t.equal(retried.json().id, JSON.parse(simulator.requests[0]?.response?.bodyText ?? '{}').id, 'the computation the first attempt made')
  t.equal(runsSeen(simulator), 1, 'exactly one computation launched')
})

t.test('after a 504 that hides whether the run started, a retry is refused with advice, not launched', async (t) => {
  const simulator = await startTestSimulator(t)
  // Code Ocean is slower than the proxy waits (undici checks its timeouts about once a second).
  simulator.inject({ method: 'POST', delayMs: 2500, times: 1 })
  const proxy = await buildTestApp(t, simulator.url, { POLICY_FILE: '', UPSTREAM_HEADERS_TIMEOUT_MS: '300' })
  const body = { capsule_id: simulator.capsules.analysis }
  const first = await run(proxy, body)
  t.equal(first.statusCode, 504)
  const retried = await settled(t, proxy, body)
  t.equal(retried.statusCode, 409)
  t.equal(retried.json().code, 'PROXY_IDEMPOTENCY_OUTCOME_UNKNOWN')
  t.match(retried.json().message, /List the capsule's computations/)
  t.equal(runsSeen(simulator), 1, 'the retry was not sent: one attempt reached Code Ocean')
  t.equal((await run(proxy, body, 'a-new-key')).statusCode, 200, 'a new key runs again, as the advice says')
})

t.test('a run Code Ocean certainly did not start (503, 429, refused) leaves the key free for the retry', async (t) => {
  const simulator = await startTestSimulator(t)
  simulator.inject({ method: 'POST', status: 503, body: { message: 'maintenance' }, times: 1 })
  const proxy = await buildTestApp(t, simulator.url, { POLICY_FILE: '' })
  const body = { pipeline_id: simulator.pipelines.main }
  t.equal((await run(proxy, body)).statusCode, 503)
  const retried = await settled(t, proxy, body)
  t.equal(retried.statusCode, 200)
  t.notOk(retried.headers['idempotent-replayed'])
  t.equal(runsSeen(simulator), 2, 'the refused attempt and the run')
})

t.test('a run the proxy refuses before forwarding claims nothing', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, { POLICY_FILE: '', UPSTREAM_MAX_CONCURRENT: '1', UPSTREAM_QUEUE_LIMIT: '0' })
  simulator.inject({ method: 'POST', delayMs: 300, times: 1 })
  const slow = run(proxy, { pipeline_id: simulator.pipelines.main }, 'another-key')
  for (let wait = 0; wait < 100 && simulator.requests.length === 0; wait++) await new Promise((resolve) => setTimeout(resolve, 5))
  const body = { capsule_id: simulator.capsules.analysis }
  const refused = await run(proxy, body)
  t.equal(refused.statusCode, 503, 'the only upstream slot is taken and nobody may queue')
  t.equal(refused.json().code, 'PROXY_UPSTREAM_OVERLOADED')
  t.ok(Number(refused.headers['retry-after']) >= 1)
  t.equal((await slow).statusCode, 200)
  t.equal((await settled(t, proxy, body)).statusCode, 200, 'the key was released, so the retry runs')
  t.equal(runsSeen(simulator), 2, 'the slow run and the retried one: the refused attempt never left')
})

t.test('IDEMPOTENCY_REQUIRED refuses runs without a key; a malformed key is 400', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, { POLICY_FILE: '', IDEMPOTENCY_REQUIRED: 'true' })
  const body = { capsule_id: simulator.capsules.analysis }
  const missing = await run(proxy, body, null)
  t.equal(missing.statusCode, 400)
  t.equal(missing.json().code, 'PROXY_IDEMPOTENCY_KEY_REQUIRED')
  const malformed = await run(proxy, body, 'bad\tkey')
  t.equal(malformed.statusCode, 400)
  t.equal(runsSeen(simulator), 0)
})

t.test('two Idempotency-Key header lines over HTTP are 400, never read as one joined key', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, { POLICY_FILE: '' })
  const address = new URL(await proxy.app.listen({ host: '127.0.0.1', port: 0 }))
  const body = JSON.stringify({ capsule_id: simulator.capsules.analysis })
  // Raw header lines, sent as they are (no Host is added to these): Node would join the two keys into "k1, k2".
  const headers = [
    'host', address.host, ...Object.entries(ALICE).flat(), 'content-type', 'application/json', 'content-length', String(Buffer.byteLength(body)),
    'idempotency-key', 'k1', 'idempotency-key', 'k2'
  ]
  const answer = await new Promise<{ status: number | undefined, body: string }>((resolve, reject) => {
    const sent = request({ host: address.hostname, port: address.port, method: 'POST', path: '/api/v1/computations', headers }, (response) => {
      let text = ''
      response.setEncoding('utf8').on('data', (chunk: string) => { text += chunk }).on('end', () => { resolve({ status: response.statusCode, body: text }) })
    })
    sent.on('error', reject).end(body)
  })
  t.equal(answer.status, 400)
  t.equal(JSON.parse(answer.body).code, 'PROXY_INVALID_REQUEST')
  t.equal(runsSeen(simulator), 0, 'no run was launched')
})

forEachStore(t, 'a retry that lands on another instance sharing the store replays the same answer', async (t, stores) => {
  const simulator = await startTestSimulator(t)
  const env = { POLICY_FILE: '', ...(stores.name === 'postgres' ? { DATABASE_URL: TEST_DATABASE_URL } : {}) }
  const a = await buildTestApp(t, simulator.url, env, { store: await stores.open() })
  const b = await buildTestApp(t, simulator.url, env, { store: await stores.open() })
  const body = { capsule_id: simulator.capsules.analysis }
  const first = await run(a, body)
  t.equal(first.statusCode, 200)
  // The key is settled once the first request is over, which can trail its answer by a moment.
  let second = await run(b, body)
  for (let attempt = 0; attempt < 50 && second.statusCode === 409; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 20))
    second = await run(b, body)
  }
  t.equal(second.statusCode, 200)
  t.equal(second.headers['idempotent-replayed'], 'true')
  t.equal(second.body, first.body)
  t.equal(runsSeen(simulator), 1)
  const conflicting = await run(b, { capsule_id: simulator.capsules.workstation })
  t.equal(conflicting.statusCode, 422, 'and the other instance also refuses the key for another body')
})

t.test('a key that cannot be settled is logged and stays in flight, so a retry is never launched blindly', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, { POLICY_FILE: '' })
  proxy.store.settleIdempotencyKey = async () => { throw new StoreError('SQLite store: settle failed', { cause: new Error('disk full') }) }
  const body = { capsule_id: simulator.capsules.analysis }
  t.equal((await run(proxy, body)).statusCode, 200)
  for (let wait = 0; wait < 100 && !proxy.log.lines().some((line) => line.msg === 'an idempotency key could not be settled'); wait++) {
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  t.ok(proxy.log.lines().some((line) => line.msg === 'an idempotency key could not be settled'))
  t.equal((await run(proxy, body)).statusCode, 409, 'the retry is held, not run')
  t.equal(runsSeen(simulator), 1)
})

t.test('expired keys are pruned; a store that cannot prune is logged and tried again later', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, { POLICY_FILE: '' })
  const pruned: string[] = []
  proxy.store.pruneIdempotencyKeys = async (before) => { pruned.push(before); return 0 }
  await pruneExpiredKeys(proxy.store, proxy.app.log)
  t.equal(pruned.length, 1)
  proxy.store.pruneIdempotencyKeys = async () => { throw new StoreError('SQLite store: prune failed', { cause: new Error('locked') }) }
  await pruneExpiredKeys(proxy.store, proxy.app.log)
  t.ok(proxy.log.lines().some((line) => line.msg === 'expired idempotency keys could not be pruned; trying again later'))
})

t.test('however many keys have expired, one pruning forgets them all, and keeps those still live', async (t) => {
  const store = openSqliteDatabase(':memory:')
  t.teardown(() => store.close())
  const claim = async (key: string, expiresAt: string): Promise<void> => {
    const at = '2026-01-01T00:00:00.000Z'
    await store.claimIdempotencyKey({ subject: 'alice', key, requestHash: 'h', state: 'in_flight', status: null, headers: null, body: null, computationId: null, createdAt: at, updatedAt: at, expiresAt })
  }
  for (let index = 0; index < 2_500; index++) await claim(`expired-${index}`, '2026-01-02T00:00:00.000Z')
  await claim('live', '2999-01-01T00:00:00.000Z')
  await pruneExpiredKeys(store, createLogSink().logger)
  t.equal(await store.pruneIdempotencyKeys(new Date().toISOString(), 10_000), 0, 'no expired key is left')
  t.equal(await store.pruneIdempotencyKeys('3000-01-01T00:00:00.000Z', 10_000), 1, 'the live key was kept')
})

t.test('a run whose answer breaks off after Code Ocean started it is an unknown outcome, never replayed as whole', async (t) => {
  let runs = 0
  const server = createServer((request, response) => {
    request.resume()
    runs++
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': '500' })
    response.write('{"id": "5f5c3c4e-1a2b-')
    setTimeout(() => response.socket?.destroy(), 20)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }))
  const proxy = await buildTestApp(t, `http://127.0.0.1:${(server.address() as AddressInfo).port}`, { POLICY_FILE: '' })
  const body = { pipeline_id: '5f5c3c4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f' }
  const first = await run(proxy, body)
  t.equal(first.statusCode, 502)
  t.equal(first.json().code, 'PROXY_UPSTREAM_CONNECTION_RESET')
  const retried = await settled(t, proxy, body)
  t.equal(retried.statusCode, 409)
  t.equal(retried.json().code, 'PROXY_IDEMPOTENCY_OUTCOME_UNKNOWN')
  t.match(retried.json().message, /List the pipeline's computations/)
  t.equal(runs, 1, 'the retry was not sent')
})

t.test('a caller who leaves while its key is being claimed leaves the key free: nothing was sent', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, { POLICY_FILE: '' })
  const claim = proxy.store.claimIdempotencyKey.bind(proxy.store)
  proxy.store.claimIdempotencyKey = async (row) => {
    await new Promise((resolve) => setTimeout(resolve, 200))
    return await claim(row)
  }
  const body = { capsule_id: simulator.capsules.analysis }
  const address = new URL(await proxy.app.listen({ host: '127.0.0.1', port: 0 }))
  await abandon(`${address.origin}/api/v1/computations`, { method: 'POST', headers: { ...ALICE, 'idempotency-key': KEY }, body: JSON.stringify(body), afterMs: 50 })
  await new Promise((resolve) => setTimeout(resolve, 400))
  t.equal(runsSeen(simulator), 0, 'the first attempt sent nothing')
  const retried = await settled(t, proxy, body)
  t.equal(retried.statusCode, 200, 'so the retry runs')
  t.equal(runsSeen(simulator), 1)
})

t.test('the answer kept for replay is sealed at rest, and one that cannot be opened is never replayed nor run again', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, { POLICY_FILE: '' })
  const body = { capsule_id: simulator.capsules.analysis, parameters: ['confidential-threshold-0.75'] }
  const first = await run(proxy, body)
  t.equal(first.statusCode, 200)
  t.equal((await settled(t, proxy, body)).headers['idempotent-replayed'], 'true')
  const at = new Date().toISOString()
  const stored = await proxy.store.claimIdempotencyKey({ subject: 'alice@example.com', key: KEY, requestHash: 'probe', state: 'in_flight', status: null, headers: null, body: null, computationId: null, createdAt: at, updatedAt: at, expiresAt: at })
  t.match(stored?.body, /^sealed-v1:[A-Za-z0-9+/=]+$/, 'the stored answer is sealed')
  t.notMatch(String(stored?.body), /confidential-threshold|"id"/, 'and holds nothing readable')
  t.equal(openAnswer(answerKeyFrom(Buffer.from(TEST_HMAC_KEY)), 'alice@example.com', KEY, String(stored?.body)), first.body, 'it opens to the answer, byte for byte')
  t.equal(openAnswer(answerKeyFrom(Buffer.from(TEST_HMAC_KEY)), 'bob@example.com', KEY, String(stored?.body)), undefined, 'but not as another caller\'s')
  t.equal(openAnswer(answerKeyFrom(Buffer.from('another-audit-key-0123456789')), 'alice@example.com', KEY, String(stored?.body)), undefined, 'nor under another key')
  t.equal(openAnswer(answerKeyFrom(Buffer.from(TEST_HMAC_KEY)), 'alice@example.com', KEY, '{"written":"before sealing"}'), '{"written":"before sealing"}', 'an answer stored before sealing reads as it is')

  // The same database under another audit key: the answer cannot be opened.
  const rekeyed = await buildTestApp(t, simulator.url, { POLICY_FILE: '', AUDIT_HMAC_KEY: 'another-audit-key-0123456789' }, { store: proxy.store })
  const retried = await run(rekeyed, body)
  t.equal(retried.statusCode, 409)
  t.equal(retried.json().code, 'PROXY_IDEMPOTENCY_OUTCOME_UNKNOWN')
  t.equal(runsSeen(simulator), 1, 'and the run was not sent again')
})
