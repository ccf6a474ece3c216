// Polling through the real app against the simulator: concurrent polls of one computation share
// one Code Ocean call without sharing what the policy hides, terminal answers come from memory
// until a change through the proxy, and the wait extension polls once per interval for everyone.
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import t, { type Test } from 'tap'
import type { AuditRecord } from '../../src/audit/request-audit.js'
import { isTerminal } from '../../src/upstream/wait.js'
import type { RecordedRequest, Simulator } from '../../src/simulator/index.js'
import { abandon } from '../helpers/abandon.js'
import { assertNoSecret, buildTestApp, DEFAULT_CALLER, type TestApp } from '../helpers/app.js'
import { conformanceProblems } from '../helpers/openapi-conformance.js'
import { parsePrometheusText, sampleValue } from '../helpers/prometheus.js'
import { startTestSimulator } from '../helpers/simulator.js'

const ALICE = { 'x-forwarded-user': 'alice@example.com', 'x-forwarded-groups': 'team-a' }
const BOB = { 'x-forwarded-user': 'bob@example.com', 'x-forwarded-groups': 'team-b' }
/** Enough calls a minute for a thousand polls by one caller: these tests are not about rate limits. */
const UNLIMITED = { RATE_LIMIT_CALLS_PER_MINUTE: '1000000' }
/** The wait extension's shortest interval, so a run of a few hundred ms is polled a few times. */
const FAST_WAIT = { WAIT_POLL_INTERVAL_MS: '100' }
/** Finished computations remembered for a minute: longer than any test, however busy the machine. */
const REMEMBERING = { POLL_CACHE_MS: '60000' }
const SHORT_RUN = { timings: { initializingMs: 50, runningMs: 150, finalizingMs: 50 } }
/** Runs that stay in progress for the whole test. */
const LONG_RUN = { timings: { initializingMs: 60_000, runningMs: 60_000, finalizingMs: 60_000 } }

/** Code Ocean's GETs of one computation, as the simulator recorded them. */
function getsOf (simulator: Simulator, id: string): RecordedRequest[] {
  return simulator.requests.filter((request) => request.method === 'GET' && request.path === `/api/v1/computations/${id}`)
}

/** What Code Ocean answered the latest GET of a computation. */
function lastAnswerOf (simulator: Simulator, id: string): string | undefined {
  return getsOf(simulator, id).findLast((get) => get.response !== undefined)?.response?.bodyText
}

/** The completed audit records of one operation. */
function auditsOf (proxy: TestApp, action: string): AuditRecord[] {
  return proxy.log.audits().filter((audit) => audit.action === action)
}

/** Polls (bounded, about 3 s) until `ready` holds; throws rather than hang. */
async function eventually (ready: () => boolean, what: string): Promise<void> {
  for (let attempt = 0; attempt < 300 && !ready(); attempt++) await sleep(10)
  if (!ready()) throw new Error(`timed out waiting until ${what}`)
}

async function run (proxy: TestApp, caller: Record<string, string>, capsuleId: string): Promise<string> {
  const response = await proxy.inject({ method: 'POST', url: '/api/v1/computations', payload: { capsule_id: capsuleId } }, caller)
  if (response.statusCode !== 200) throw new Error(`run failed: ${response.statusCode} ${response.body}`)
  return response.json().id as string
}

/**
 * `count` identical GETs at once with the checks proxy.inject makes (no secret, the OpenAPI
 * document's promise), then waits once for all their audit records. proxy.inject waits for each
 * record on its own by parsing the whole log, which for a thousand concurrent calls takes seconds.
 */
async function pollAtOnce (t: Test, proxy: TestApp, url: string, count: number) {
  const responses = await Promise.all(Array.from({ length: count }, async () =>
    await proxy.app.inject({ method: 'GET', url, headers: DEFAULT_CALLER })))
  for (const response of responses) {
    assertNoSecret(t, JSON.stringify(response.headers) + response.body, 'a response')
    const problems = conformanceProblems('GET', url, response.statusCode, response.headers['content-type'] as string | undefined, response.body)
    for (const problem of problems ?? []) t.fail(`the answer does not match the OpenAPI document: ${problem}`)
  }
  const ids = new Set(responses.map((response) => response.headers['x-request-id']))
  await eventually(() => proxy.log.audits().filter((audit) => ids.has(audit.requestId)).length === count, 'every poll is audited')
  return responses
}

t.test('a thousand concurrent polls of one computation share a handful of Code Ocean calls and each get its exact answer', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, UNLIMITED)
  const { id } = simulator.addComputation({ capsule_id: simulator.capsules.analysis, state: 'running' })
  simulator.inject({ method: 'GET', delayMs: 100 })

  const responses = await pollAtOnce(t, proxy, `/api/v1/computations/${id}`, 1000)

  const gets = getsOf(simulator, id)
  t.ok(gets.length >= 1 && gets.length <= 5, `Code Ocean saw ${gets.length} GETs for 1000 polls`)
  t.equal(simulator.requests.length, gets.length, 'and nothing else')
  const sent = new Set(gets.map((get) => get.response?.bodyText))
  t.ok(responses.every((response) => response.statusCode === 200), 'every caller got 200')
  t.ok(responses.every((response) => sent.has(response.body)), 'every body is byte for byte one Code Ocean sent')
  t.equal(responses[0]?.json().id, id)

  const audits = auditsOf(proxy, 'getComputation')
  t.equal(audits.length, 1000)
  const coalesced = audits.filter((audit) => audit.answerSource === 'coalesced')
  t.ok(coalesced.length >= 995, `${coalesced.length} polls were answered from another caller's call`)
  t.ok(coalesced.every((audit) => audit.upstreamAttempts === 0 && audit.upstreamStatus === 200), 'a shared answer made no call of its own')
  t.equal(audits.reduce((sum, audit) => sum + audit.upstreamAttempts, 0), gets.length, 'the attempts on record are the calls Code Ocean saw')
})

t.test('shared polls do not share what the policy hides: the owner\'s polls get 200 while another caller\'s get 404', async (t) => {
  const simulator = await startTestSimulator(t, LONG_RUN)
  const proxy = await buildTestApp(t, simulator.url, { POLICY_FILE: '' })
  const id = await run(proxy, ALICE, simulator.capsules.analysis)
  simulator.clearRequests()
  simulator.inject({ method: 'GET', delayMs: 100 })

  const callers = Array.from({ length: 200 }, (_, index) => index % 2 === 0 ? ALICE : BOB)
  const responses = await Promise.all(callers.map(async (caller) =>
    await proxy.inject({ method: 'GET', url: `/api/v1/computations/${id}` }, caller)))

  const gets = getsOf(simulator, id)
  t.ok(gets.length >= 1 && gets.length <= 5, `Code Ocean saw ${gets.length} GETs for 100 polls by the owner`)
  const sent = new Set(gets.map((get) => get.response?.bodyText))
  const alices = responses.filter((_, index) => callers[index] === ALICE)
  const bobs = responses.filter((_, index) => callers[index] === BOB)
  t.ok(alices.every((response) => response.statusCode === 200 && sent.has(response.body)), 'the owner got Code Ocean\'s answer every time')
  t.ok(bobs.every((response) => response.statusCode === 404 && response.json().code === 'PROXY_COMPUTATION_NOT_FOUND'), 'the other caller got 404 every time')
  t.ok(bobs.every((response) => !sent.has(response.body) && !response.body.includes('"state"')), 'and never a byte of the computation')

  const bobsAudits = auditsOf(proxy, 'getComputation').filter((audit) => audit.actor?.subject === 'bob@example.com')
  t.equal(bobsAudits.length, 100)
  t.ok(bobsAudits.every((audit) => audit.decision?.outcome === 'deny' && audit.upstreamStatus === null && audit.upstreamAttempts === 0),
    'each refusal is on record as denied, with nothing from Code Ocean')
})

t.test('polls naming the same Min-Server-Version share one call; other versions, none, and malformed ones do not join it', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url)
  const { id } = simulator.addComputation({ capsule_id: simulator.capsules.analysis, state: 'running' })
  simulator.inject({ method: 'GET', delayMs: 100 })

  const url = `/api/v1/computations/${id}`
  const polls = (headers: Record<string, string>, count: number) =>
    Promise.all(Array.from({ length: count }, async () => await proxy.inject({ method: 'GET', url, headers })))
  const [sdk, older, plain, malformed] = await Promise.all([
    polls({ 'min-server-version': '4.6.0' }, 10),
    polls({ 'min-server-version': '4.0.0' }, 10),
    polls({}, 10),
    polls({ 'min-server-version': '4.6' }, 3)
  ])

  t.ok([...sdk, ...older, ...plain].every((response) => response.statusCode === 200))
  t.ok(malformed.every((response) => response.statusCode === 400 && /Malformed Min-Server-Version/.test(response.body)), 'Code Ocean\'s own answer to a malformed version')
  const gets = getsOf(simulator, id)
  const versioned = (version: string | undefined) => gets.filter((get) => get.headers['min-server-version'] === version).length
  for (const version of ['4.6.0', '4.0.0', undefined]) {
    t.ok(versioned(version) >= 1 && versioned(version) <= 2, `the polls naming ${String(version)} shared their call (${versioned(version)} GETs), with that header`)
  }
  t.equal(versioned('4.6'), 3, 'a malformed version is never shared')
  const audits = auditsOf(proxy, 'getComputation')
  t.equal(audits.filter((audit) => audit.answerSource === 'upstream' && audit.upstreamAttempts === 1).length, gets.length,
    'every call Code Ocean saw is one caller\'s own')
})

t.test('50 concurrent SDK polls of a finished computation cost one call, and a rename drops the remembered answer of every version', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, REMEMBERING)
  const { id } = simulator.addComputation({ capsule_id: simulator.capsules.analysis, state: 'completed', name: 'before' })
  const url = `/api/v1/computations/${id}`
  const sdk = { 'min-server-version': '4.6.0' }

  // Those that do not join the first call find its answer remembered: one call, however they overlap.
  const responses = await Promise.all(Array.from({ length: 50 }, async () => await proxy.inject({ method: 'GET', url, headers: sdk })))
  t.ok(responses.every((response) => response.statusCode === 200 && response.json().name === 'before'))
  t.equal(getsOf(simulator, id).length, 1, 'one GET reached Code Ocean')
  await proxy.inject({ method: 'GET', url })
  t.equal(getsOf(simulator, id).length, 2, 'a poll without the header is another question')

  t.equal((await proxy.inject({ method: 'PATCH', url: `${url}?name=after` })).statusCode, 204)
  simulator.clearRequests()
  t.equal((await proxy.inject({ method: 'GET', url, headers: sdk })).json().name, 'after', 'the versioned answer was forgotten')
  t.equal((await proxy.inject({ method: 'GET', url })).json().name, 'after', 'and so was the plain one')
  t.equal(getsOf(simulator, id).length, 2)
})

t.test('with POLL_COALESCE false every concurrent poll makes its own call', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, { POLL_COALESCE: 'false', UPSTREAM_MAX_PER_CALLER: '20' })
  const { id } = simulator.addComputation({ capsule_id: simulator.capsules.analysis, state: 'running' })
  simulator.inject({ method: 'GET', delayMs: 100 })

  const responses = await Promise.all(Array.from({ length: 20 }, async () =>
    await proxy.inject({ method: 'GET', url: `/api/v1/computations/${id}` })))

  t.ok(responses.every((response) => response.statusCode === 200 && response.body === lastAnswerOf(simulator, id)))
  t.equal(getsOf(simulator, id).length, 20)
  t.ok(auditsOf(proxy, 'getComputation').every((audit) => audit.answerSource === 'upstream' && audit.upstreamAttempts === 1))
})

t.test('a Code Ocean failure of a shared poll reaches every caller of it, and each record says so', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, { UPSTREAM_RETRY_ATTEMPTS: '1', BREAKER_FAILURES: '1000' })
  const { id } = simulator.addComputation({ capsule_id: simulator.capsules.analysis, state: 'running' })
  simulator.inject({ method: 'GET', delayMs: 100, reset: true })

  const responses = await Promise.all(Array.from({ length: 20 }, async () =>
    await proxy.inject({ method: 'GET', url: `/api/v1/computations/${id}` })))

  t.ok(responses.every((response) => response.statusCode === 502 && response.json().code === 'PROXY_UPSTREAM_CONNECTION_RESET'))
  t.ok(getsOf(simulator, id).length <= 5, 'the failed call was shared too')
  const audits = auditsOf(proxy, 'getComputation')
  t.equal(audits.length, 20)
  t.ok(audits.every((audit) => audit.errorClass === 'reset' && audit.errorCode === 'PROXY_UPSTREAM_CONNECTION_RESET' && audit.status === 502))
})

t.test('a shared poll that Code Ocean answers 503 once is retried once for all its callers', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, { UPSTREAM_RETRY_BASE_MS: '10' })
  const { id } = simulator.addComputation({ capsule_id: simulator.capsules.analysis, state: 'running' })
  simulator.inject({ method: 'GET', status: 503, delayMs: 100, times: 1, headers: { 'retry-after': '0' } })

  const responses = await Promise.all(Array.from({ length: 20 }, async () =>
    await proxy.inject({ method: 'GET', url: `/api/v1/computations/${id}` })))

  const gets = getsOf(simulator, id)
  t.same(gets.map((get) => get.response?.status), [503, 200], 'one failed call, one retry')
  t.ok(responses.every((response) => response.statusCode === 200 && response.body === gets[1]?.response?.bodyText))
  const audits = auditsOf(proxy, 'getComputation')
  t.equal(audits.filter((audit) => audit.upstreamAttempts === 2).length, 1, 'the caller whose call it was made two attempts')
  t.equal(audits.filter((audit) => audit.answerSource === 'coalesced' && audit.upstreamAttempts === 0).length, 19)
})

t.test('a caller who leaves a shared poll does not cancel it for the others, and is recorded as gone', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url)
  const { id } = simulator.addComputation({ capsule_id: simulator.capsules.analysis, state: 'running' })
  simulator.inject({ method: 'GET', delayMs: 300, times: 1 })
  const address = await proxy.app.listen({ host: '127.0.0.1', port: 0 })
  const url = `/api/v1/computations/${id}`

  const staying = proxy.inject({ method: 'GET', url })
  await eventually(() => getsOf(simulator, id).length === 1, 'the shared poll is at Code Ocean')
  await new Promise<void>((resolve) => {
    const request = httpRequest(`${address}${url}`, { headers: DEFAULT_CALLER })
    request.on('error', () => { resolve() })
    request.on('close', () => { resolve() })
    request.end()
    setTimeout(() => { request.destroy() }, 100)
  })
  const response = await staying
  await eventually(() => auditsOf(proxy, 'getComputation').length === 2, 'both polls are audited')

  t.equal(response.statusCode, 200)
  t.equal(response.body, lastAnswerOf(simulator, id))
  t.equal(getsOf(simulator, id).length, 1, 'one call for both')
  t.match(auditsOf(proxy, 'getComputation').find((audit) => audit.clientAborted), { status: 499, answerSource: 'coalesced', upstreamStatus: 200 })
})

t.test('a poll answer too large to hold is refused with 502 for every caller of it', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url)
  const { id } = simulator.addComputation({ capsule_id: simulator.capsules.analysis, state: 'running' })
  simulator.inject({ method: 'GET', status: 200, delayMs: 100, body: { state: 'running', padding: 'x'.repeat(33 * 1024 * 1024) } })

  const responses = await Promise.all(Array.from({ length: 5 }, async () =>
    await proxy.inject({ method: 'GET', url: `/api/v1/computations/${id}` })))

  t.ok(responses.every((response) => response.statusCode === 502 && response.json().code === 'PROXY_UPSTREAM_PROTOCOL_ERROR'))
  t.equal(getsOf(simulator, id).length, 1)
  t.ok(auditsOf(proxy, 'getComputation').every((audit) => audit.errorClass === 'protocol'))
})

t.test('a completed computation polled twice is fetched once: the second answer comes from memory', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, REMEMBERING)
  const { id } = simulator.addComputation({ capsule_id: simulator.capsules.analysis, state: 'running' })
  simulator.complete(id)
  const url = `/api/v1/computations/${id}`

  const first = await proxy.inject({ method: 'GET', url })
  const second = await proxy.inject({ method: 'GET', url })

  t.equal(getsOf(simulator, id).length, 1, 'one GET reached Code Ocean')
  t.equal(first.statusCode, 200)
  t.equal(first.json().state, 'completed')
  t.equal(second.statusCode, 200)
  t.equal(second.body, first.body, 'the same bytes')
  t.equal(second.body, lastAnswerOf(simulator, id))
  t.match(auditsOf(proxy, 'getComputation'), [
    { answerSource: 'upstream', upstreamAttempts: 1, upstreamStatus: 200 },
    { answerSource: 'cache', upstreamAttempts: 0, upstreamStatus: 200 }
  ])
})

t.test('a rename through the proxy drops the remembered answer: the next poll shows the new name', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, REMEMBERING)
  const { id } = simulator.addComputation({ capsule_id: simulator.capsules.analysis, state: 'completed', name: 'before' })
  const url = `/api/v1/computations/${id}`
  await proxy.inject({ method: 'GET', url })
  t.equal((await proxy.inject({ method: 'GET', url })).json().name, 'before', 'answered from memory')

  t.equal((await proxy.inject({ method: 'PATCH', url: `${url}?name=after` })).statusCode, 204)
  simulator.clearRequests()
  const renamed = await proxy.inject({ method: 'GET', url })

  t.equal(renamed.json().name, 'after')
  t.equal(getsOf(simulator, id).length, 1, 'the poll after the rename went to Code Ocean')
  t.equal(renamed.body, lastAnswerOf(simulator, id))
  t.equal((await proxy.inject({ method: 'GET', url })).body, renamed.body, 'and the new answer is remembered in turn')
  t.equal(getsOf(simulator, id).length, 1)
  t.same(auditsOf(proxy, 'getComputation').map((audit) => audit.answerSource), ['upstream', 'cache', 'upstream', 'cache'])
})

/**
 * A Code Ocean that takes ids in any letter case, as the proxy's ownership checks assume: a front
 * that lower-cases each path before the simulator (which matches ids exactly) sees it.
 */
async function caseBlindCodeOcean (t: Test, simulator: Simulator): Promise<string> {
  const front = createServer((request: IncomingMessage, response: ServerResponse) => {
    const onward = httpRequest(`${simulator.url}${(request.url ?? '/').toLowerCase()}`, { method: request.method, headers: request.headers }, (answer) => {
      response.writeHead(answer.statusCode ?? 502, answer.headers)
      answer.pipe(response)
    })
    onward.on('error', () => { response.destroy() })
    request.pipe(onward)
  })
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => { front.closeAllConnections(); await new Promise((resolve) => front.close(resolve)) })
  return `http://127.0.0.1:${(front.address() as AddressInfo).port}`
}

t.test('a rename or delete forgets the answers remembered under every spelling of the id', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, await caseBlindCodeOcean(t, simulator), REMEMBERING)
  const { id } = simulator.addComputation({ capsule_id: simulator.capsules.analysis, state: 'completed', name: 'before' })
  const upper = `/api/v1/computations/${id.toUpperCase()}`
  const versioned = { ...DEFAULT_CALLER, 'min-server-version': '4.6.0' }
  await proxy.inject({ method: 'GET', url: upper })
  await proxy.inject({ method: 'GET', url: upper }, versioned)
  t.equal((await proxy.inject({ method: 'GET', url: upper })).json().name, 'before', 'answered from memory')

  t.equal((await proxy.inject({ method: 'PATCH', url: `/api/v1/computations/${id}?name=after` })).statusCode, 204)
  t.equal((await proxy.inject({ method: 'GET', url: upper })).json().name, 'after', 'the spelling the rename did not use')
  t.equal((await proxy.inject({ method: 'GET', url: upper }, versioned)).json().name, 'after', 'and its versioned polls')

  t.equal((await proxy.inject({ method: 'DELETE', url: `/api/v1/computations/${id}` })).statusCode, 204)
  t.equal((await proxy.inject({ method: 'GET', url: upper })).statusCode, 404, 'a deleted computation is not answered from memory under any spelling')
  t.same(auditsOf(proxy, 'getComputation').map((audit) => audit.answerSource), ['upstream', 'upstream', 'cache', 'upstream', 'upstream', 'upstream'])
})

t.test('a poll after a rename does not join a poll that was already in flight before it', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, REMEMBERING)
  const { id } = simulator.addComputation({ capsule_id: simulator.capsules.analysis, state: 'completed', name: 'before' })
  const url = `/api/v1/computations/${id}`
  simulator.inject({ method: 'GET', delayMs: 300, times: 1 })

  const early = proxy.inject({ method: 'GET', url })
  await eventually(() => getsOf(simulator, id).length === 1, 'the early poll is at Code Ocean')
  t.equal((await proxy.inject({ method: 'PATCH', url: `${url}?name=after` })).statusCode, 204)
  const late = await proxy.inject({ method: 'GET', url })
  await early

  t.equal(late.json().name, 'after')
  t.equal(getsOf(simulator, id).length, 2, 'the late poll made its own call')
  t.match(auditsOf(proxy, 'getComputation').find((audit) => audit.requestId === late.headers['x-request-id']), { answerSource: 'upstream', upstreamAttempts: 1 })
  t.equal((await proxy.inject({ method: 'GET', url })).json().name, 'after', 'and what is remembered is the answer after the rename')
})

t.test('a delete through the proxy drops the remembered answer: the next poll is Code Ocean\'s 404', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, REMEMBERING)
  const { id } = simulator.addComputation({ capsule_id: simulator.capsules.analysis, state: 'completed' })
  const url = `/api/v1/computations/${id}`
  t.equal((await proxy.inject({ method: 'GET', url })).statusCode, 200)

  t.equal((await proxy.inject({ method: 'DELETE', url })).statusCode, 204)
  simulator.clearRequests()
  const gone = await proxy.inject({ method: 'GET', url })

  t.equal(gone.statusCode, 404)
  t.equal(getsOf(simulator, id).length, 1)
  t.equal(gone.body, lastAnswerOf(simulator, id), 'Code Ocean\'s own 404, unchanged')
})

t.test('with POLL_CACHE_MS 0 every poll of a completed computation goes to Code Ocean', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, { POLL_CACHE_MS: '0' })
  const { id } = simulator.addComputation({ capsule_id: simulator.capsules.analysis, state: 'completed' })
  for (let poll = 0; poll < 3; poll++) t.equal((await proxy.inject({ method: 'GET', url: `/api/v1/computations/${id}` })).statusCode, 200)
  t.equal(getsOf(simulator, id).length, 3)
  t.ok(auditsOf(proxy, 'getComputation').every((audit) => audit.answerSource === 'upstream'))
})

t.test('a running computation is never answered from memory', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, REMEMBERING)
  const { id } = simulator.addComputation({ capsule_id: simulator.capsules.analysis, state: 'running' })
  for (let poll = 0; poll < 3; poll++) t.equal((await proxy.inject({ method: 'GET', url: `/api/v1/computations/${id}` })).json().state, 'running')
  t.equal(getsOf(simulator, id).length, 3)
  t.ok(auditsOf(proxy, 'getComputation').every((audit) => audit.answerSource === 'upstream'))
})

t.test('a 200 answer that is not JSON is passed on and never remembered', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, REMEMBERING)
  const { id } = simulator.addComputation({ capsule_id: simulator.capsules.analysis, state: 'completed' })
  simulator.inject({ method: 'GET', status: 200, body: 'not json' })
  // app.inject itself: a 200 that is not JSON is an answer the OpenAPI document does not promise.
  for (let poll = 0; poll < 2; poll++) {
    const response = await proxy.app.inject({ method: 'GET', url: `/api/v1/computations/${id}`, headers: DEFAULT_CALLER })
    t.equal(response.statusCode, 200)
    t.equal(response.body, 'not json')
  }
  t.equal(getsOf(simulator, id).length, 2)
})

t.test('only a 200 answer can be terminal, whatever its body says', async (t) => {
  const body = Buffer.from(JSON.stringify({ state: 'completed' }))
  t.ok(isTerminal({ status: 200, headers: {}, body }))
  t.notOk(isTerminal({ status: 404, headers: {}, body }))
  t.notOk(isTerminal({ status: 200, headers: {}, body: Buffer.from('{"state":"running"}') }))
})

/** Callers the app's wait endpoint holds, and the computations it polls for them, as /metrics tells. */
async function waits (proxy: TestApp): Promise<{ callers: number, computations: number }> {
  const samples = parsePrometheusText((await proxy.app.inject({ method: 'GET', url: '/metrics' })).body)
  return {
    callers: sampleValue(samples, 'codeocean_proxy_waits', { state: 'callers' }) ?? 0,
    computations: sampleValue(samples, 'codeocean_proxy_waits', { state: 'computations' }) ?? 0
  }
}

/** Waits, bounded, for a condition the test itself brings about (never for a clock to run out). */
async function until (ready: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let attempt = 0; attempt < 2000; attempt++) {
    if (await ready()) return
    await sleep(10)
  }
  throw new Error(`timed out waiting until ${what}`)
}

t.test('a waiter gets the completed computation byte for byte as Code Ocean last sent it', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, FAST_WAIT)
  // Running until the test ends it, so the wait sees it run however busy the machine is.
  const { id } = simulator.addComputation({ capsule_id: simulator.capsules.analysis, state: 'running' })

  const waited = proxy.inject({ method: 'GET', url: `/computations/${id}/wait?timeout=60` })
  await until(() => getsOf(simulator, id).length >= 2, 'it was polled twice')
  simulator.complete(id)
  const response = await waited

  t.equal(response.statusCode, 200)
  t.equal(response.json().state, 'completed')
  t.equal(response.body, lastAnswerOf(simulator, id))
  t.ok(getsOf(simulator, id).length >= 2, 'it was polled while it ran')
  t.match(auditsOf(proxy, 'waitForComputation'), [{ status: 200, upstreamStatus: 200, answerSource: 'coalesced', resource: { computation_id: id } }])
})

t.test('a hundred waiters on one run share one poll loop', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, FAST_WAIT)
  const { id } = simulator.addComputation({ capsule_id: simulator.capsules.analysis, state: 'running' })

  const started = performance.now()
  const waiting = Promise.all(Array.from({ length: 100 }, async () =>
    await proxy.inject({ method: 'GET', url: `/computations/${id}/wait?timeout=60` })))
  await until(async () => (await waits(proxy)).callers === 100, 'all hundred wait')
  t.same(await waits(proxy), { callers: 100, computations: 1 }, 'one computation polled for a hundred callers')
  const polled = getsOf(simulator, id).length
  await until(() => getsOf(simulator, id).length >= polled + 2, 'two more polls with everyone waiting')
  simulator.complete(id)
  const responses = await waiting
  const elapsedMs = performance.now() - started

  const final = lastAnswerOf(simulator, id)
  t.ok(responses.every((response) => response.statusCode === 200 && response.body === final), 'all 200 with the completed computation')
  // One loop polls at most once per 100 ms interval (plus the first, at once); a loop per waiter would poll at least 100 times.
  const gets = getsOf(simulator, id).length
  t.ok(gets >= 2 && gets <= Math.floor(elapsedMs / 100) + 2, `Code Ocean saw ${gets} GETs for 100 waiters in ${Math.round(elapsedMs)} ms`)
  t.equal(auditsOf(proxy, 'waitForComputation').length, 100)
  t.same(await waits(proxy), { callers: 0, computations: 0 }, 'and nobody waits afterwards')
})

t.test('a waiter whose timeout passes first gets 202 with the computation as it last was', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, FAST_WAIT)
  const { id } = simulator.addComputation({ capsule_id: simulator.capsules.analysis, state: 'running' })

  const response = await proxy.inject({ method: 'GET', url: `/computations/${id}/wait?timeout=1` })

  t.equal(response.statusCode, 202)
  t.equal(response.json().state, 'running')
  t.equal(response.body, lastAnswerOf(simulator, id))
  t.ok(getsOf(simulator, id).length >= 2, 'polled again while waiting')
  t.match(auditsOf(proxy, 'waitForComputation'), [{ status: 202, upstreamStatus: 200 }])
})

t.test('a wait with a query parameter it does not know is refused with 400, and nothing is polled', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, FAST_WAIT)
  const { id } = simulator.addComputation({ capsule_id: simulator.capsules.analysis, state: 'running' })
  const response = await proxy.inject({ method: 'GET', url: `/computations/${id}/wait?timeout=1&colour=red` })
  t.equal(response.statusCode, 400)
  t.match(response.json().message, /colour/)
  t.equal(simulator.requests.length, 0)
  t.match(auditsOf(proxy, 'waitForComputation'), [{ status: 400 }])
})

t.test('a wait without a timeout, or a longer one, lasts WAIT_MAX_SECONDS', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, { ...FAST_WAIT, WAIT_MAX_SECONDS: '1' })
  const { id } = simulator.addComputation({ capsule_id: simulator.capsules.analysis, state: 'running' })

  const [unbounded, long] = await Promise.all([
    proxy.inject({ method: 'GET', url: `/computations/${id}/wait` }),
    proxy.inject({ method: 'GET', url: `/computations/${id}/wait?timeout=9999` })
  ])

  t.equal(unbounded.statusCode, 202)
  t.equal(long.statusCode, 202)
  t.equal(long.body, unbounded.body)
})

t.test('a waiter who may not see the computation gets 404 and Code Ocean hears nothing', async (t) => {
  const simulator = await startTestSimulator(t, LONG_RUN)
  const proxy = await buildTestApp(t, simulator.url, { ...FAST_WAIT, POLICY_FILE: '' })
  const id = await run(proxy, ALICE, simulator.capsules.analysis)
  simulator.clearRequests()

  const response = await proxy.inject({ method: 'GET', url: `/computations/${id}/wait?timeout=1` }, BOB)

  t.equal(response.statusCode, 404)
  t.equal(response.json().code, 'PROXY_COMPUTATION_NOT_FOUND')
  t.equal(simulator.requests.length, 0)
  t.match(auditsOf(proxy, 'waitForComputation'), [{ status: 404, upstreamStatus: null, decision: { outcome: 'deny' } }])
})

t.test('a computation deleted while waited on ends the wait with Code Ocean\'s 404', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, FAST_WAIT)
  const { id } = simulator.addComputation({ capsule_id: simulator.capsules.analysis, state: 'running' })

  const waiting = proxy.inject({ method: 'GET', url: `/computations/${id}/wait?timeout=5` })
  await eventually(() => getsOf(simulator, id).length >= 1, 'the wait has polled')
  t.equal((await proxy.inject({ method: 'DELETE', url: `/api/v1/computations/${id}` })).statusCode, 204)
  const response = await waiting

  t.equal(response.statusCode, 404)
  t.equal(response.body, lastAnswerOf(simulator, id), 'Code Ocean\'s own 404, unchanged')
  t.match(auditsOf(proxy, 'waitForComputation'), [{ status: 404, upstreamStatus: 404 }])
})

t.test('closing the app releases a waiter with 202 and the computation as it last was', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, FAST_WAIT)
  const { id } = simulator.addComputation({ capsule_id: simulator.capsules.analysis, state: 'running' })

  const waiting = proxy.inject({ method: 'GET', url: `/computations/${id}/wait?timeout=5` })
  await eventually(() => getsOf(simulator, id).length >= 2, 'the wait has seen an answer and polled again')
  await proxy.app.close()
  const response = await waiting

  t.equal(response.statusCode, 202)
  t.equal(response.json().state, 'running')
  t.equal(response.body, getsOf(simulator, id)[0]?.response?.bodyText)
})

t.test('closing the app before Code Ocean has answered the wait releases the waiter with 503', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, FAST_WAIT)
  const { id } = simulator.addComputation({ capsule_id: simulator.capsules.analysis, state: 'running' })
  simulator.inject({ method: 'GET', delayMs: 300 })

  const waiting = proxy.inject({ method: 'GET', url: `/computations/${id}/wait?timeout=5` })
  await eventually(() => getsOf(simulator, id).length === 1, 'the first poll is out')
  await proxy.app.close()
  const response = await waiting

  t.equal(response.statusCode, 503)
  t.equal(response.json().code, 'PROXY_UNAVAILABLE')
})

t.test('a caller who leaves a wait is recorded as gone, and the polling stops', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, FAST_WAIT)
  const { id } = simulator.addComputation({ capsule_id: simulator.capsules.analysis, state: 'running' })
  const address = await proxy.app.listen({ host: '127.0.0.1', port: 0 })

  await new Promise<void>((resolve) => {
    const request = httpRequest(`${address}/computations/${id}/wait?timeout=5`, { headers: DEFAULT_CALLER })
    request.on('error', () => { resolve() })
    request.on('close', () => { resolve() })
    request.end()
    const leave = (): void => { request.destroy() }
    // Left either way: the record below then says whether the wait had really begun.
    eventually(() => getsOf(simulator, id).length >= 2, 'the wait has polled twice').then(leave, leave)
  })
  await eventually(() => auditsOf(proxy, 'waitForComputation').length === 1, 'the wait is audited')

  t.match(auditsOf(proxy, 'waitForComputation'), [{ status: 499, clientAborted: true }])
  const polled = getsOf(simulator, id).length
  await sleep(300)
  t.equal(getsOf(simulator, id).length, polled, 'no poll after the last waiter left')
})

t.test('a wait rides out a 503 from Code Ocean by retrying the poll', async (t) => {
  const simulator = await startTestSimulator(t, SHORT_RUN)
  const proxy = await buildTestApp(t, simulator.url, { ...FAST_WAIT, UPSTREAM_RETRY_BASE_MS: '10' })
  const { id } = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  simulator.inject({ method: 'GET', status: 503, times: 1 })

  const response = await proxy.inject({ method: 'GET', url: `/computations/${id}/wait?timeout=5` })

  t.equal(response.statusCode, 200)
  t.equal(response.body, lastAnswerOf(simulator, id))
  t.equal(getsOf(simulator, id)[0]?.response?.status, 503)
})

t.test('a wait timeout that is not 1 to 9999 seconds is refused before Code Ocean is called', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, FAST_WAIT)
  const { id } = simulator.addComputation({ capsule_id: simulator.capsules.analysis, state: 'running' })
  for (const timeout of ['0', 'abc', '10000', '-1', '1.5']) {
    const response = await proxy.inject({ method: 'GET', url: `/computations/${id}/wait?timeout=${timeout}` })
    t.equal(response.statusCode, 400, `timeout=${timeout}`)
    t.equal(response.json().code, 'PROXY_INVALID_REQUEST')
  }
  t.equal(simulator.requests.length, 0)
})

t.test('a wait polls on through Code Ocean\'s 503s and, if the timeout comes first, passes the last one on', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, { ...FAST_WAIT, UPSTREAM_RETRY_ATTEMPTS: '1', BREAKER_FAILURES: '1000' })
  const { id } = simulator.addComputation({ capsule_id: simulator.capsules.analysis, state: 'running' })
  simulator.inject({ method: 'GET', status: 503 })

  const response = await proxy.inject({ method: 'GET', url: `/computations/${id}/wait?timeout=1` })

  t.equal(response.statusCode, 503)
  t.equal(response.body, lastAnswerOf(simulator, id), 'Code Ocean\'s own 503, passed on unchanged')
  t.ok(getsOf(simulator, id).length > 1, 'a 503 did not end the wait')
  t.match(auditsOf(proxy, 'waitForComputation'), [{ status: 503, upstreamStatus: 503, errorCode: null }])
})

t.test('a wait that rides out a 503 (retried within the poll) ends on the finished computation', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, { ...FAST_WAIT, UPSTREAM_RETRY_BASE_MS: '10' })
  const { id } = simulator.addComputation({ capsule_id: simulator.capsules.analysis, state: 'running' })
  simulator.inject({ method: 'GET', status: 503, times: 1 })
  setTimeout(() => { simulator.complete(id) }, 150)
  const response = await proxy.inject({ method: 'GET', url: `/computations/${id}/wait?timeout=5` })
  t.equal(response.statusCode, 200)
  t.equal(response.json().state, 'completed')
})

t.test('a wait on a Code Ocean that resets every poll answers the last failure when the timeout passes', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, { ...FAST_WAIT, UPSTREAM_RETRY_ATTEMPTS: '1', BREAKER_FAILURES: '1000' })
  const { id } = simulator.addComputation({ capsule_id: simulator.capsules.analysis, state: 'running' })
  simulator.inject({ method: 'GET', reset: true })

  const response = await proxy.inject({ method: 'GET', url: `/computations/${id}/wait?timeout=1` })

  t.equal(response.statusCode, 502)
  t.equal(response.json().code, 'PROXY_UPSTREAM_CONNECTION_RESET')
  t.ok(getsOf(simulator, id).length >= 2, 'a failed poll did not end the wait')
})

t.test('a wait on a Code Ocean whose breaker opens answers 503 PROXY_UPSTREAM_CIRCUIT_OPEN when the timeout passes', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, { ...FAST_WAIT, UPSTREAM_RETRY_ATTEMPTS: '1', BREAKER_FAILURES: '2', BREAKER_MIN_PATHS: '1' })
  const { id } = simulator.addComputation({ capsule_id: simulator.capsules.analysis, state: 'running' })
  simulator.inject({ method: 'GET', reset: true })

  const response = await proxy.inject({ method: 'GET', url: `/computations/${id}/wait?timeout=1` })

  t.equal(response.statusCode, 503)
  t.equal(response.json().code, 'PROXY_UPSTREAM_CIRCUIT_OPEN')
  t.equal(getsOf(simulator, id).length, 2, 'Code Ocean was spared once the breaker opened')
})

t.test('a wait on a Code Ocean that has not answered by the timeout answers 504, naming the caller\'s wait, not a timeout for Code Ocean', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, FAST_WAIT)
  const { id } = simulator.addComputation({ capsule_id: simulator.capsules.analysis, state: 'running' })
  simulator.inject({ method: 'GET', delayMs: 1300 })

  const response = await proxy.inject({ method: 'GET', url: `/computations/${id}/wait?timeout=1` })

  t.equal(response.statusCode, 504)
  t.equal(response.json().code, 'PROXY_WAIT_UNANSWERED')
  t.match(response.json().message, /your wait of 1 s ended\. Nothing was changed/)
  t.notMatch(response.json().message, /within 1000 ms|may or may not have taken effect/)
  t.equal(getsOf(simulator, id).length, 1)
})

t.test('a waiter who leaves while being authorized is not waited for', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, { POLICY_FILE: '', WAIT_POLL_INTERVAL_MS: '100' })
  const run = await proxy.inject({ method: 'POST', url: '/api/v1/computations', payload: { capsule_id: simulator.capsules.workstation } }, { 'x-forwarded-user': 'alice@example.com' })
  const id = String(run.json().id)
  const owners = proxy.store.ownersOf.bind(proxy.store)
  proxy.store.ownersOf = async (ids) => {
    await new Promise((resolve) => setTimeout(resolve, 200))
    return await owners(ids)
  }
  const address = new URL(await proxy.app.listen({ host: '127.0.0.1', port: 0 }))
  simulator.clearRequests()
  await abandon(`${address.origin}/computations/${id}/wait?timeout=30`, { headers: { 'x-forwarded-user': 'alice@example.com' }, afterMs: 50 })
  await new Promise((resolve) => setTimeout(resolve, 700))
  t.equal(simulator.requests.length, 0, 'no poll was made for a caller who had gone')
})
