// The audit trail and the requests behind it when the database misbehaves the way networks and
// disks do, reproduced for real: a TCP relay in front of PostgreSQL that loses a COMMIT's answer,
// stalls its connections or cuts them, and a store that is gone. The proxy answers 503 within a
// bound, never hangs, turns /readyz red while writes fail, and heals by itself.
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { LightMyRequestResponse } from 'fastify'
import t, { type Test } from 'tap'
import { verifyAuditTrail } from '../../src/audit/verify.js'
import { createServiceKey } from '../../src/identity/service-keys.js'
import { openPostgresStore } from '../../src/store/postgres.js'
import { openStore } from '../../src/store/open.js'
import { LOCK_WAIT_MS, openSqliteDatabase } from '../../src/store/sqlite-database.js'
import { openSqliteStore } from '../../src/store/sqlite.js'
import type { Store } from '../../src/store/store.js'
import { buildTestApp, DEFAULT_CALLER, DEFAULT_TEST_ENV, type TestApp } from '../helpers/app.js'
import { TEST_CHAIN_KEYS, TEST_HMAC_KEY, TEST_TOKEN } from '../helpers/secrets.js'
import { listeningAddress, startServer } from '../helpers/server-process.js'
import { spawnChild } from '../helpers/spawn-child.js'
import { startTestSimulator } from '../helpers/simulator.js'
import { ownerRow, postgresSchema, TEST_DATABASE_URL } from '../helpers/stores.js'
import { startTcpRelay, type TcpRelay } from '../helpers/tcp-relay.js'

async function relayToPostgres (t: Test): Promise<TcpRelay> {
  const direct = new URL(TEST_DATABASE_URL)
  return await startTcpRelay(t, { host: direct.hostname, port: Number(direct.port || 5432) })
}

/** A PostgreSQL store in a schema of its own, reached through a relay the test controls. */
async function relayedStore (t: Test, timeoutMs?: number): Promise<{ store: Store, relay: TcpRelay, schema: string }> {
  const relay = await relayToPostgres(t)
  const { schema, url } = await postgresSchema(t, relay.port)
  // Opened as the process opens it, STORE_TIMEOUT_MS included.
  const store = await openStore({ kind: 'postgres', url, ...(timeoutMs === undefined ? {} : { timeoutMs }) })
  t.teardown(() => store.close())
  return { store, relay, schema }
}

/** The request's answer, or a failed test after `ms` (a hang, which no bound should allow). */
async function withinOrFail (t: Test, ms: number, pending: Promise<LightMyRequestResponse>): Promise<LightMyRequestResponse | undefined> {
  let timer: NodeJS.Timeout | undefined
  const hung = new Promise<undefined>((resolve) => { timer = setTimeout(() => resolve(undefined), ms) })
  const answer = await Promise.race([pending, hung])
  clearTimeout(timer)
  if (answer === undefined) t.fail(`no answer within ${ms} ms: the request hangs`)
  return answer
}

async function rename (proxy: TestApp, id: string, name: string): Promise<LightMyRequestResponse> {
  return await proxy.inject({ method: 'PATCH', url: `/api/v1/computations/${id}?name=${name}` })
}

/** Calls `attempt` until it answers `status`, at most `tries` times, 100 ms apart; returns the tries it took. */
async function until (status: number, tries: number, attempt: () => Promise<LightMyRequestResponse>): Promise<number> {
  for (let tried = 1; tried <= tries; tried++) {
    if ((await attempt()).statusCode === status) return tried
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return Number.POSITIVE_INFINITY
}

t.test('a COMMIT whose answer is lost does not wedge the trail: the next changes go through and /readyz is green', async (t) => {
  const { store, relay, schema } = await relayedStore(t)
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, {}, { store })
  const { id } = simulator.addComputation({ capsule_id: simulator.capsules.analysis, state: 'running' })
  t.equal((await rename(proxy, id, 'first')).statusCode, 204)

  relay.loseNextCommitAnswer()
  const ambiguous = await rename(proxy, id, 'second')
  t.equal(relay.lostCommits, 1, 'the server committed the batch and its answer was lost')
  t.equal(ambiguous.statusCode, 503, 'the rename whose record was not confirmed is not forwarded')
  t.equal(ambiguous.json().code, 'PROXY_AUDIT_UNAVAILABLE')
  t.equal(simulator.requests.filter((request) => request.method === 'PATCH').length, 1, 'Code Ocean saw only the first rename')

  const tries = await until(204, 50, async () => await rename(proxy, id, 'third'))
  t.ok(tries < 50, `a later rename goes through (after ${tries} tries)`)
  t.equal((await proxy.inject({ method: 'GET', url: '/readyz' })).statusCode, 200, '/readyz is green again')
  await proxy.app.close()

  const reader = await openPostgresStore({ connectionString: TEST_DATABASE_URL, schema, connections: 1 })
  t.teardown(() => reader.close())
  const report = await verifyAuditTrail(reader, { keys: TEST_CHAIN_KEYS })
  t.equal(report.broken, undefined, 'the chain verifies: each record once, none missing')
  t.ok(report.records >= 6, `${report.records} records`)
})

t.test('a stalled PostgreSQL connection gives 503 within the store timeout, not a hang, and the proxy heals when it ends', async (t) => {
  const { store, relay } = await relayedStore(t, 500)
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, {}, { store })
  const { id } = simulator.addComputation({ capsule_id: simulator.capsules.analysis, state: 'running' })
  t.equal((await rename(proxy, id, 'before')).statusCode, 204)

  relay.stall()
  const stalled = await withinOrFail(t, 15_000, rename(proxy, id, 'during'))
  t.equal(stalled?.statusCode, 503)
  t.equal(stalled?.json().code, 'PROXY_AUDIT_UNAVAILABLE')
  t.equal(simulator.requests.filter((request) => request.method === 'PATCH').length, 1, 'nothing forwarded without its record')
  const ready = await withinOrFail(t, 15_000, proxy.inject({ method: 'GET', url: '/readyz' }))
  t.equal(ready?.statusCode, 503, '/readyz is red')

  relay.resume()
  relay.cut()
  const tries = await until(204, 50, async () => await rename(proxy, id, 'after'))
  t.ok(tries < 50, `a rename goes through once the network is back (after ${tries} tries)`)
})

t.test('/readyz turns red as soon as audit writes fail, before the queue is full, and says why', async (t) => {
  const simulator = await startTestSimulator(t)
  const store = openSqliteDatabase(':memory:')
  const proxy = await buildTestApp(t, simulator.url, {}, { store })
  await store.close()
  const { id } = simulator.addComputation({ capsule_id: simulator.capsules.analysis, state: 'running' })
  t.equal((await proxy.inject({ method: 'GET', url: `/api/v1/computations/${id}` })).statusCode, 200, 'a read goes on, its records queued')
  let audit: { ok: boolean, message?: string } | undefined
  for (let attempt = 0; attempt < 100 && audit?.ok !== false; attempt++) {
    audit = (await proxy.inject({ method: 'GET', url: '/readyz' })).json().checks.audit
    if (audit?.ok !== false) await new Promise((resolve) => setTimeout(resolve, 20))
  }
  t.match(audit, { ok: false, message: /audit records cannot be written \(\d+ waiting\)/ })
})

t.test('records that cannot be written by shutdown are logged as lost, and the process exits 1', async (t) => {
  const relay = await relayToPostgres(t)
  const { url } = await postgresSchema(t, relay.port)
  const simulator = await startTestSimulator(t)
  const server = startServer({
    CODEOCEAN_DOMAIN: simulator.url, CODEOCEAN_TOKEN: TEST_TOKEN, PORT: '0', HOST: '127.0.0.1', DATABASE_URL: url,
    STORE_TIMEOUT_MS: '500', AUDIT_HMAC_KEY: TEST_HMAC_KEY, ...DEFAULT_TEST_ENV
  })
  t.teardown(() => { server.child.kill('SIGKILL') })
  const address = await listeningAddress(server)
  relay.refuse()
  relay.cut()
  const { id } = simulator.addComputation({ capsule_id: simulator.capsules.analysis, state: 'running' })
  const read = await fetch(`${address}/api/v1/computations/${id}`, { headers: DEFAULT_CALLER })
  t.equal(read.status, 200, 'a read is served, its record queued')
  server.child.kill('SIGTERM')
  const [code] = await server.exited
  t.equal(code, 1, 'the exit code says the shutdown was not clean')
  const lost = server.stdout().split('\n').filter((line) => line.includes('audit records lost at shutdown')).map((line) => JSON.parse(line) as { level: number, lost: number })
  t.match(lost, [{ level: 50 }], 'an error names the loss')
  t.ok((lost[0]?.lost ?? 0) >= 1, `${lost[0]?.lost} records counted as lost`)
  t.notMatch(server.stdout(), /closed: audit trail flushed/, 'and nothing claims the trail was flushed')
})

t.test('a run whose Idempotency-Key claim was committed but not confirmed can be retried with the same key', async (t) => {
  const { store, relay } = await relayedStore(t)
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, {}, { store })
  const run = async (): Promise<LightMyRequestResponse> => await proxy.inject({
    method: 'POST', url: '/api/v1/computations', headers: { 'idempotency-key': 'nightly-2026-12-06' }, payload: { capsule_id: simulator.capsules.analysis }
  })
  relay.loseNextCommitAnswer('idempotency_keys')
  const first = await run()
  t.equal(relay.lostCommits, 1, 'the claim was committed and its answer lost')
  t.equal(first.statusCode, 503)
  t.equal(simulator.requests.length, 0, 'nothing was sent')
  // The claim is taken back in the background: a retry meanwhile gets 409 and Retry-After.
  const tries = await until(200, 50, run)
  t.ok(tries < 50, `the retry runs, rather than wait on a claim nobody holds (after ${tries} tries)`)
  t.equal(simulator.requests.length, 1)
  // Its key is settled once the request is over, in the background: retry until it is.
  let replayed = await run()
  for (let attempt = 0; attempt < 100 && replayed.json().code === 'PROXY_IDEMPOTENCY_IN_FLIGHT'; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 20))
    replayed = await run()
  }
  t.equal(replayed.headers['idempotent-replayed'], 'true', 'and the key then works as ever')
})

t.test('a keyed run whose claim the store cannot take gets 503 within the store timeout, and its claim is taken back in the background', async (t) => {
  const { store, relay } = await relayedStore(t, 500)
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, {}, { store })
  const run = async (): Promise<LightMyRequestResponse> => await proxy.inject({
    method: 'POST', url: '/api/v1/computations', headers: { 'idempotency-key': 'stalled-1' }, payload: { capsule_id: simulator.capsules.analysis }
  })
  const givenUp = (): boolean => proxy.log.lines().some((line) => line.msg === 'an idempotency claim that may have been made could not be taken back')

  relay.stall()
  const refused = await withinOrFail(t, 15_000, run())
  t.equal(refused?.statusCode, 503)
  // Taking the claim back is tried three times, each bounded by the store timeout: the 503 does
  // not wait for them (before, it came only after they had all failed, seconds later).
  t.notOk(givenUp(), 'the caller is answered while the claim is still being taken back')
  t.ok(await eventually(givenUp), 'which, while the store stays stalled, is given up and logged')
  t.equal(simulator.requests.length, 0, 'nothing was sent')

  relay.resume()
  relay.cut()
  const tries = await until(200, 50, run)
  t.ok(tries < 50, `the same key runs once the store is back (after ${tries} tries)`)
  t.equal(simulator.requests.length, 1)
})

/** Waits, 10 ms at a time, until `ready` holds (at most 5 s); returns whether it did. */
async function eventually (ready: () => boolean): Promise<boolean> {
  for (let wait = 0; wait < 500 && !ready(); wait++) await new Promise((resolve) => setTimeout(resolve, 10))
  return ready()
}

/** A proxy listening on loopback, its store reached through a relay, with a service key and a running computation. */
async function listeningProxy (t: Test, storeTimeoutMs: number): Promise<{ relay: TcpRelay, simulator: Awaited<ReturnType<typeof startTestSimulator>>, proxy: TestApp, key: string, port: number, id: string }> {
  const { store, relay } = await relayedStore(t, storeTimeoutMs)
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, {}, { store })
  const { key } = await createServiceKey(store, { subject: 'ci-runner', groups: ['proxy-admins'] })
  const port = Number(new URL(await proxy.app.listen({ host: '127.0.0.1', port: 0 })).port)
  const { id } = simulator.addComputation({ capsule_id: simulator.capsules.analysis, state: 'running' })
  return { relay, simulator, proxy, key, port, id }
}

/** Sends a raw request while the relay is stalled; resolves once the database work it started is held (or after 5 s). */
async function sendWhileStalled (relay: TcpRelay, port: number, request: string): Promise<Socket> {
  relay.stall()
  const socket = connect(port, '127.0.0.1')
  socket.on('error', () => {})
  await once(socket, 'connect')
  socket.write(request)
  await eventually(() => relay.held > 0)
  return socket
}

t.test('a caller who resets its connection while its service key is still being looked up still gets its completed record', async (t) => {
  const { relay, simulator, proxy, key, port, id } = await listeningProxy(t, 1000)
  const socket = await sendWhileStalled(relay, port, `GET /api/v1/computations/${id} HTTP/1.1\r\nhost: proxy\r\nauthorization: Bearer ${key}\r\nx-request-id: left-during-identity\r\n\r\n`)
  t.ok(relay.held > 0, 'the key lookup is on its way to the database, held by the stall')
  socket.resetAndDestroy()
  relay.resume()

  const completed = (): object | undefined => proxy.log.audits().find((audit) => audit.requestId === 'left-during-identity' && audit.stage === 'completed')
  for (let wait = 0; wait < 500 && completed() === undefined; wait++) await new Promise((resolve) => setTimeout(resolve, 10))
  t.match(completed(), { status: 499, clientAborted: true }, 'the request that got an Audit-Id has its completed record')
  t.equal(simulator.requests.length, 0, 'and nothing was forwarded for a caller who had left')
})

t.test('a caller who leaves while its run waits for the received record to commit gets nothing forwarded', async (t) => {
  // The store timeout outlasts the stall: the record commits late, it does not fail.
  const { relay, simulator, proxy, port } = await listeningProxy(t, 30_000)
  const body = JSON.stringify({ capsule_id: simulator.capsules.analysis })
  const headers = Object.entries(DEFAULT_CALLER).map(([name, value]) => `${name}: ${value}\r\n`).join('')
  const socket = await sendWhileStalled(relay, port, `POST /api/v1/computations HTTP/1.1\r\nhost: proxy\r\n${headers}x-request-id: left-before-forwarding\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`)
  t.ok(relay.held > 0, 'the received record of the run is on its way to the database, held by the stall')
  socket.resetAndDestroy()
  const ownLines = (): Array<{ stage: string, status?: number }> => proxy.log.auditLines().filter((audit) => audit.requestId === 'left-before-forwarding') as Array<{ stage: string, status?: number }>
  t.ok(await eventually(() => ownLines().some((line) => line.stage === 'completed')), 'the proxy saw the caller leave')
  relay.resume()

  // A run by a caller who stays: its record commits after the first one's, and it is forwarded.
  const stayed = await proxy.inject({ method: 'POST', url: '/api/v1/computations', payload: { capsule_id: simulator.capsules.analysis } })
  t.equal(stayed.statusCode, 200)
  // Closing waits for every call still out to Code Ocean: any forwarded for the first caller has arrived by now.
  await proxy.app.close()
  t.equal(simulator.requests.filter((request) => request.method === 'POST').length, 1, 'Code Ocean saw only the run of the caller who stayed')
  t.match(ownLines(), [{ stage: 'received' }, { stage: 'completed', status: 499, upstreamAttempts: 0 }], 'the first run is recorded as received, then abandoned before any answer')
  t.equal(ownLines().length, 2, 'and nothing after that')
})

t.test('a caller who leaves while its service key is looked up gets no received record after its completed one', async (t) => {
  const { relay, simulator, proxy, key, port, id } = await listeningProxy(t, 30_000)
  const socket = await sendWhileStalled(relay, port, `PATCH /api/v1/computations/${id}?name=left HTTP/1.1\r\nhost: proxy\r\nauthorization: Bearer ${key}\r\nx-request-id: left-rename\r\n\r\n`)
  t.ok(relay.held > 0, 'the key lookup is on its way to the database, held by the stall')
  socket.resetAndDestroy()
  // The audit starts once the caller is known: until then only the server sees it leave.
  let open = 1
  t.ok(await eventually(() => {
    proxy.app.server.getConnections((_error, count) => { open = count })
    return open === 0
  }), 'the proxy saw the caller leave')
  relay.resume()

  // A rename by a caller who stays passes through the same hooks after the first one's.
  t.equal((await proxy.inject({ method: 'PATCH', url: `/api/v1/computations/${id}?name=stayed` }, { authorization: `Bearer ${key}` })).statusCode, 204)
  await proxy.app.close()
  const ownLines = proxy.log.auditLines().filter((audit) => audit.requestId === 'left-rename')
  t.match(ownLines, [{ stage: 'completed', status: 499 }], 'its completed record')
  t.equal(ownLines.length, 1, 'and nothing after it')
  t.equal(simulator.requests.filter((request) => request.method === 'PATCH').length, 1, 'only the rename of the caller who stayed was forwarded')
})

/** Another process on the machine (a backup, an operator's sqlite3) holding the file's write lock until killed. */
const HOLD_WRITE_LOCK = `
  const Database = require('better-sqlite3')
  const db = new Database(process.argv[1])
  db.exec('BEGIN IMMEDIATE')
  process.stdout.write('locked\\n')
  setInterval(() => {}, 60000)
`

/** A proxy on a SQLite file of its own, as the process opens it (its worker thread included). */
async function sqliteProxy (t: Test): Promise<{ path: string, store: Store, simulator: Awaited<ReturnType<typeof startTestSimulator>>, proxy: TestApp }> {
  const directory = await mkdtemp(join(tmpdir(), 'codeocean-proxy-locked-'))
  t.teardown(() => rm(directory, { recursive: true, force: true }))
  const path = join(directory, 'audit.sqlite')
  const store = await openSqliteStore(path)
  t.teardown(() => store.close())
  const simulator = await startTestSimulator(t)
  return { path, store, simulator, proxy: await buildTestApp(t, simulator.url, {}, { store }) }
}

/** Another process holding the file's write lock (as a backup or an operator's sqlite3 may) until it is sent SIGTERM. */
async function holdWriteLock (t: Test, path: string): Promise<ReturnType<typeof spawnChild>> {
  const holder = spawnChild(process.execPath, ['-e', HOLD_WRITE_LOCK, path], {})
  t.teardown(() => { holder.kill('SIGKILL') })
  const [locked] = await once(holder.stdout, 'data') as [Buffer]
  t.equal(locked.toString(), 'locked\n', 'the other process holds the write lock')
  return holder
}

t.test('while another process holds the SQLite write lock, /livez and /metrics answer and a change waits for its record', async (t) => {
  const { path, simulator, proxy } = await sqliteProxy(t)
  const { id } = simulator.addComputation({ capsule_id: simulator.capsules.analysis, state: 'running' })

  const holder = await holdWriteLock(t, path)

  let renamed = false
  const renaming = rename(proxy, id, 'during-the-lock').finally(() => { renamed = true })
  t.equal((await proxy.inject({ method: 'GET', url: '/livez' })).statusCode, 200, '/livez answers')
  t.equal((await proxy.inject({ method: 'GET', url: '/metrics' })).statusCode, 200, '/metrics answers')
  t.notOk(renamed, 'while the change still waits for its durable record')
  t.equal(simulator.requests.length, 0, 'which nothing is forwarded without')

  holder.kill('SIGTERM')
  t.equal((await renaming).statusCode, 204, 'once the lock is gone the change goes through')
  t.equal(simulator.requests.length, 1)
})

t.test('while another process holds the SQLite write lock, reads that need the store are answered at once, ahead of the waiting change', async (t) => {
  const { path, store, simulator, proxy } = await sqliteProxy(t)
  // Started through the proxy: its owner is in the store, and read from it on the first GET (a
  // recorded owner is not kept in memory until it has been read).
  const started = await proxy.inject({ method: 'POST', url: '/api/v1/computations', payload: { capsule_id: simulator.capsules.analysis } })
  const { id } = started.json() as { id: string }
  const { key } = await createServiceKey(store, { subject: 'ci-runner', groups: ['proxy-admins'] })
  const keyed = { authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}` }

  const holder = await holdWriteLock(t, path)

  let renamed = false
  const renaming = rename(proxy, id, 'during-the-lock').finally(() => { renamed = true })
  await eventually(() => proxy.log.auditLines().some((line) => line.stage === 'received' && line.action === 'renameComputation'))
  // Before, each of these waited behind the change's write, which waited up to 5 s for the lock.
  t.equal((await proxy.inject({ method: 'GET', url: `/api/v1/computations/${id}` })).statusCode, 200, 'a GET whose owner is read from the store')
  t.equal((await proxy.inject({ method: 'GET', url: `/api/v1/computations/${id}` }, keyed)).statusCode, 200, 'a caller whose service key is read from the store')
  t.equal((await proxy.inject({ method: 'GET', url: '/readyz' }, null)).statusCode, 200, 'and /readyz, whose ping reads')
  t.notOk(renamed, 'all while the change still waits for the lock')

  holder.kill('SIGTERM')
  t.equal((await renaming).statusCode, 204, 'once the lock is gone the change goes through')
  t.equal(simulator.requests.filter((request) => request.method === 'PATCH').length, 1)
})

t.test('while another process holds the SQLite write lock for good, each write fails within 5 s of when it came, however many wait before it', async (t) => {
  const { path, store } = await sqliteProxy(t)
  const holder = await holdWriteLock(t, path)

  const sent = Date.now()
  const settledAfter = async (write: Promise<unknown>): Promise<{ reason: unknown, ms: number }> => {
    const reason = await write.then(() => undefined, (error: unknown) => error)
    return { reason, ms: Date.now() - sent }
  }
  // Two writes of the request path with a write that is never grouped (retention) between them:
  // three turns at the head of the queue, each of which used to wait its own 5 s.
  const first = [settledAfter(store.recordOwner(ownerRow('c-1'))), settledAfter(store.pruneAudit('2000-01-01T00:00:00.000Z', 10)), settledAfter(store.recordOwner(ownerRow('c-2')))]
  // And one that comes 2 s later: it is not failed with the first, but waits out its own 5 s.
  await new Promise((resolve) => setTimeout(resolve, 2_000))
  const later = settledAfter(store.recordOwner(ownerRow('c-3')))
  const earlier = await Promise.all(first)
  for (const { reason, ms } of earlier) {
    t.match(reason, { name: 'StoreError', cause: { code: 'SQLITE_BUSY' } }, 'fails for the lock')
    t.ok(ms >= LOCK_WAIT_MS && ms < LOCK_WAIT_MS + 3_000, `after waiting its 5 s, not another write's too (${ms} ms)`)
  }
  const last = await later
  t.match(last.reason, { name: 'StoreError', cause: { code: 'SQLITE_BUSY' } })
  t.ok(last.ms >= 2_000 + LOCK_WAIT_MS, `the later write waited its own 5 s (${last.ms} ms after the first were sent)`)

  holder.kill('SIGTERM')
  await once(holder, 'exit')
  await store.recordOwner(ownerRow('c-4'))
  t.same([...(await store.ownersOf(['c-1', 'c-2', 'c-3', 'c-4'])).keys()], ['c-4'], 'once the lock is gone writes go through, and none of the failed ones was written')
})
