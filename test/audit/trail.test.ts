// The durable audit trail, on SQLite and PostgreSQL: two records per request, durable before a
// mutating call is forwarded, refused calls when it cannot be written, and tampering detected.
import { createSecretKey } from 'node:crypto'
import t from 'tap'
import pg from 'pg'
import Database from 'better-sqlite3'
import { rm } from 'node:fs/promises'
import { connect, createServer, type AddressInfo, type Socket } from 'node:net'
import { openPostgresStore } from '../../src/store/postgres.js'
import { linkHash } from '../../src/audit/chain.js'
import { hmacWith } from '../../src/audit/sensitive.js'
import { AuditTrail } from '../../src/audit/trail.js'
import { verifyAuditTrail } from '../../src/audit/verify.js'
import { openSqliteDatabase } from '../../src/store/sqlite-database.js'
import { createLogSink } from '../helpers/log-sink.js'
import { TEST_CHAIN_KEY, TEST_CHAIN_KEYS, TEST_HMAC_KEY } from '../helpers/secrets.js'
import type { Store } from '../../src/store/store.js'
import { buildTestApp } from '../helpers/app.js'
import { startTestSimulator } from '../helpers/simulator.js'
import { forEachStore, TEST_DATABASE_URL } from '../helpers/stores.js'

async function allRecords (store: Store) {
  const rows = []
  for (const instance of await store.chainInstances()) rows.push(...await store.readChain(instance, 0, 1000))
  return rows.map((row) => ({ ...row, record: JSON.parse(row.body) as Record<string, unknown> }))
}

forEachStore(t, 'a mirrored call leaves a received and a completed record, and the trail verifies', async (t, stores) => {
  const store = await stores.open()
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, {}, { store })
  const response = await proxy.inject({ method: 'POST', url: '/api/v1/computations', payload: { capsule_id: simulator.capsules.analysis } })
  const auditId = response.headers['audit-id']
  t.match(auditId, /^[0-9a-f-]{36}$/, 'the caller is told its Audit-Id')
  await proxy.app.close()

  const rows = await allRecords(store)
  t.same(rows.map((row) => [row.stage, row.auditId]), [['received', auditId], ['completed', auditId]])
  t.match(rows[0]?.record, { action: 'runCapsule', method: 'POST', route: '/api/v1/computations', sourceIp: '127.0.0.1' })
  t.match(rows[1]?.record, { action: 'runCapsule', resource: { capsule_id: simulator.capsules.analysis }, status: 200, upstreamStatus: 200 })
  t.same(await verifyAuditTrail(store, { keys: TEST_CHAIN_KEYS }), { chains: 1, records: 2 })
})

forEachStore(t, 'a rejected request is recorded too, and nothing is forwarded', async (t, stores) => {
  const store = await stores.open()
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, {}, { store })
  await proxy.inject({ method: 'DELETE', url: '/api/v1/computations/..%2F..%2Fcapsules%2Fx' })
  await proxy.app.close()
  const rows = await allRecords(store)
  t.same(rows.map((row) => row.stage), ['completed'], 'an invalid call gets no received record: nothing is done with it')
  t.match(rows[0]?.record, { status: 400, errorCode: 'PROXY_INVALID_REQUEST', upstreamStatus: null })
  t.equal(simulator.requests.length, 0)
})

forEachStore(t, 'with the store gone, a mutating call is refused unforwarded and a read is still served', async (t, stores) => {
  const store = await stores.open()
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, {}, { store })
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  await store.close()

  const run = await proxy.inject({ method: 'POST', url: '/api/v1/computations', payload: { capsule_id: simulator.capsules.analysis } })
  t.equal(run.statusCode, 503)
  t.equal(run.json().code, 'PROXY_AUDIT_UNAVAILABLE')
  t.ok(run.headers['retry-after'])
  const remove = await proxy.inject({ method: 'DELETE', url: `/api/v1/computations/${computation.id}` })
  t.equal(remove.statusCode, 503)
  t.equal(simulator.requests.length, 0, 'no mutating call reached Code Ocean')

  const read = await proxy.inject({ method: 'GET', url: `/api/v1/computations/${computation.id}` })
  t.equal(read.statusCode, 200, 'reads go on; their records wait in memory')
  t.equal(simulator.requests.length, 1)
  t.ok(proxy.log.lines().some((line) => line.level === 50 && String(line.msg).includes('audit records could not be written')))
})

forEachStore(t, 'editing or deleting a record makes verification fail and name it', async (t, stores) => {
  const store = await stores.open()
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, {}, { store })
  const url = `/api/v1/computations/${simulator.addComputation({ capsule_id: simulator.capsules.analysis }).id}`
  // Six reads: one record each.
  for (let call = 0; call < 6; call++) await proxy.inject({ method: 'GET', url })
  await proxy.app.close()
  const rows = await allRecords(store)
  t.same(await verifyAuditTrail(store, { keys: TEST_CHAIN_KEYS }), { chains: 1, records: 6 }, 'untouched, it verifies')
  const [instanceId] = await store.chainInstances()

  // An administrator edits the third record's outcome, then deletes the fourth.
  const third = rows[2]
  const fourth = rows[3]
  if (third === undefined || fourth === undefined || instanceId === undefined) throw new Error('too few records')
  await tamper(stores.name, stores, `UPDATE audit_records SET body = REPLACE(body, '"GET"', '"DELETE"') WHERE instance_id = '${instanceId}' AND seq = 3`)
  t.match(await verifyAuditTrail(store, { keys: TEST_CHAIN_KEYS }), { broken: { seq: 3, auditId: third.auditId, reason: /content does not match its hash/ } })
  await tamper(stores.name, stores, `UPDATE audit_records SET body = '${third.body.replace(/'/g, "''")}' WHERE instance_id = '${instanceId}' AND seq = 3`)
  await tamper(stores.name, stores, `DELETE FROM audit_records WHERE instance_id = '${instanceId}' AND seq = 4`)
  t.match(await verifyAuditTrail(store, { keys: TEST_CHAIN_KEYS }), { broken: { seq: 5, reason: /records 4 to 4 are missing/ } })
})

forEachStore(t, 'an edited stage column, not matching the hashed record, makes verification fail', async (t, stores) => {
  const store = await stores.open()
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, {}, { store })
  await proxy.inject({ method: 'GET', url: `/api/v1/computations/${simulator.addComputation({ capsule_id: simulator.capsules.analysis }).id}` })
  await proxy.app.close()
  const [instanceId] = await store.chainInstances()
  const [first] = await allRecords(store)
  if (first === undefined || instanceId === undefined) throw new Error('no record')
  t.equal(first.stage, 'completed')
  // The search column says the request was only received; the hashed body still says completed.
  await tamper(stores.name, stores, `UPDATE audit_records SET stage = 'received' WHERE instance_id = '${instanceId}' AND seq = 1`)
  t.match(await verifyAuditTrail(store, { keys: TEST_CHAIN_KEYS }), { broken: { seq: 1, auditId: first.auditId, reason: /indexed fields do not match/ } })
})

/** Changes the database behind the store's back, as someone with database access could. */
async function tamper (kind: 'sqlite' | 'postgres', stores: { path?: string, schema?: string }, sql: string): Promise<void> {
  if (kind === 'sqlite') {
    const db = new Database(String(stores.path))
    db.exec(sql)
    db.close()
    return
  }
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL, options: `-c search_path=${String(stores.schema)}` })
  await client.connect()
  await client.query(sql)
  await client.end()
}

t.test('past the queue limit, with the store down, every request is refused rather than left unaudited', async (t) => {
  const simulator = await startTestSimulator(t)
  const store = openSqliteDatabase(':memory:')
  const proxy = await buildTestApp(t, simulator.url, { AUDIT_QUEUE_LIMIT: '2' }, { store })
  await store.close()
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  for (let read = 0; read < 2; read++) {
    t.equal((await proxy.inject({ method: 'GET', url: `/api/v1/computations/${computation.id}` })).statusCode, 200, 'two reads fill the queue, one record each')
  }
  const third = await proxy.inject({ method: 'GET', url: `/api/v1/computations/${computation.id}` })
  t.equal(third.statusCode, 503)
  t.equal(third.json().code, 'PROXY_AUDIT_UNAVAILABLE')
  const badUrl = await proxy.inject({ method: 'GET', url: '/api/v1/computations/%E0%A4%A' })
  t.equal(badUrl.statusCode, 503, 'even a request the router rejects')
  t.equal(simulator.requests.length, 2)
  t.ok(proxy.log.lines().some((line) => String(line.msg).includes('a completed audit record could not be queued')))
})

t.test('with the store down, the reads let in are as many as their records have room for, and none is answered unaudited', async (t) => {
  const simulator = await startTestSimulator(t)
  const store = openSqliteDatabase(':memory:')
  // Each read its own call, so what reached Code Ocean counts the reads let in.
  const proxy = await buildTestApp(t, simulator.url, { AUDIT_QUEUE_LIMIT: '3', POLL_COALESCE: 'false' }, { store })
  await store.close()
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  // Slow answers: all five reads are in flight before any record is written.
  simulator.inject({ method: 'GET', delayMs: 200, times: 5 })
  const responses = await Promise.all(Array.from({ length: 5 }, async (_, index) =>
    await proxy.inject({ method: 'GET', url: `/api/v1/computations/${computation.id}`, headers: { 'x-request-id': `read-${index}-of-five` } })))
  const served = responses.filter((response) => response.statusCode === 200)
  t.equal(served.length, 3, 'three let in')
  t.same(responses.filter((response) => response.statusCode === 503).map((response) => response.json().code), ['PROXY_AUDIT_UNAVAILABLE', 'PROXY_AUDIT_UNAVAILABLE'])
  t.equal(simulator.requests.length, 3, 'only those reached Code Ocean')
  const unqueued = proxy.log.lines().filter((line) => String(line.msg) === 'a completed audit record could not be queued').map((line) => String(line.auditId))
  t.same(served.filter((response) => unqueued.includes(String(response.headers['audit-id']))), [], 'every read served has its record queued')
  const ready = await proxy.inject({ method: 'GET', url: '/readyz' }, null)
  t.match(ready.json().checks.audit, { ok: false, message: /^3 audit records are waiting/ })
})

t.test('a mutation needs room for both its records: with one place left it is refused, and its refusal is recorded in that place', async (t) => {
  const simulator = await startTestSimulator(t)
  const store = openSqliteDatabase(':memory:')
  const proxy = await buildTestApp(t, simulator.url, { AUDIT_QUEUE_LIMIT: '1' }, { store })
  await store.close()
  const run = await proxy.inject({ method: 'POST', url: '/api/v1/computations', payload: { capsule_id: simulator.capsules.analysis } })
  t.equal(run.statusCode, 503)
  t.equal(run.json().code, 'PROXY_AUDIT_UNAVAILABLE')
  t.equal(simulator.requests.length, 0, 'Code Ocean heard nothing')
  t.notOk(proxy.log.lines().some((line) => String(line.msg) === 'a completed audit record could not be queued'), 'the refusal\'s record took the place it had')
  t.match((await proxy.inject({ method: 'GET', url: '/readyz' }, null)).json().checks.audit, { ok: false, message: /^1 audit records are waiting/ })
})

t.test('a trail resumes its chain after a restart, and reports what it could not write at close', async (t) => {
  const store = openSqliteDatabase(':memory:')
  t.teardown(() => store.close())
  const sink = createLogSink()
  const before = new AuditTrail({ store, log: sink.logger, chainKey: TEST_CHAIN_KEY, instanceId: 'fixed' })
  before.append('received', 'a1', { n: 1 })
  before.append('completed', 'a1', { n: 2 })
  await before.close()
  const after = new AuditTrail({ store, log: sink.logger, chainKey: TEST_CHAIN_KEY, instanceId: 'fixed' })
  await after.resume()
  const seq = after.append('received', 'a2', { n: 3 })
  t.equal(seq, 3)
  await Promise.all([after.flush(), after.flush()])
  await after.flushThrough(seq)
  t.same(await verifyAuditTrail(store, { keys: TEST_CHAIN_KEYS }), { chains: 1, records: 3 })

  const fresh = new AuditTrail({ store, log: sink.logger, instanceId: 'empty' })
  await fresh.resume()
  t.equal(fresh.append('received', 'a3', {}), 1, 'a new chain starts at 1')
  await store.close()
  await t.rejects(fresh.close(), { name: 'AuditRecordsLostError', lost: 1 }, 'closing says what it lost')
  t.ok(sink.lines().some((line) => line.level === 50 && line.lost === 1 && String(line.msg).includes('audit records lost at shutdown')))
})

t.test('verification names a broken anchor, a broken link and a mismatched index', async (t) => {
  const path = `${process.env.TMPDIR ?? '/tmp'}/codeocean-proxy-verify-${process.pid}.sqlite`
  t.teardown(async () => { await rm(path, { force: true }); await rm(`${path}-wal`, { force: true }); await rm(`${path}-shm`, { force: true }) })
  const store = openSqliteDatabase(path)
  t.teardown(() => store.close())
  const trail = new AuditTrail({ store, log: createLogSink().logger, chainKey: TEST_CHAIN_KEY, instanceId: 'i' })
  for (let n = 1; n <= 3; n++) trail.append('received', `a${n}`, { n })
  await trail.close()
  const edit = (sql: string): void => {
    const db = new Database(path)
    db.exec(sql)
    db.close()
  }
  const [first, second] = await store.readChain('i', 0, 3)
  if (first === undefined || second === undefined) throw new Error('no records')

  edit(`UPDATE audit_records SET prev_hash = 'x' WHERE seq = 1`)
  t.match(await verifyAuditTrail(store, { keys: TEST_CHAIN_KEYS }), { broken: { seq: 1, reason: /anchor/ } })
  edit(`UPDATE audit_records SET prev_hash = '${first.prevHash}' WHERE seq = 1`)

  // A forger without the key can only make unkeyed (or wrongly keyed) links.
  const forgedBody = second.body.replace('"n":2', '"n":20')
  edit(`UPDATE audit_records SET body = '${forgedBody}', hash = '${linkHash(second.prevHash, 2, forgedBody)}' WHERE seq = 2`)
  t.match(await verifyAuditTrail(store, { keys: TEST_CHAIN_KEYS }), { broken: { seq: 2, reason: /an unkeyed record after keyed ones/ } })
  const guessedKey = createSecretKey(Buffer.alloc(32, 7))
  edit(`UPDATE audit_records SET body = '${forgedBody}', hash = '${linkHash(second.prevHash, 2, forgedBody, guessedKey)}' WHERE seq = 2`)
  t.match(await verifyAuditTrail(store, { keys: TEST_CHAIN_KEYS }), { broken: { seq: 2, reason: /content does not match its hash/ } })
  // Even one who had the key, and recomputed one record, breaks the next link.
  edit(`UPDATE audit_records SET body = '${forgedBody}', hash = '${linkHash(second.prevHash, 2, forgedBody, TEST_CHAIN_KEY)}' WHERE seq = 2`)
  t.match(await verifyAuditTrail(store, { keys: TEST_CHAIN_KEYS }), { broken: { seq: 3, reason: /does not link to the record before it/ } })
  edit(`UPDATE audit_records SET body = '${second.body}', hash = '${second.hash}' WHERE seq = 2`)

  edit(`UPDATE audit_records SET audit_id = 'someone-else' WHERE seq = 2`)
  t.match(await verifyAuditTrail(store, { keys: TEST_CHAIN_KEYS }), { broken: { seq: 2, reason: /indexed fields/ } })
})

t.test('confidential values are kept only as HMACs an investigator can match', async (t) => {
  const simulator = await startTestSimulator(t)
  const store = openSqliteDatabase(':memory:')
  t.teardown(() => store.close())
  const proxy = await buildTestApp(t, simulator.url, {}, { store })
  const hmac = hmacWith(Buffer.from(TEST_HMAC_KEY))
  const run = await proxy.inject({
    method: 'POST',
    url: '/api/v1/computations',
    payload: {
      pipeline_id: simulator.pipelines.main,
      parameters: ['patient-042', ''],
      named_parameters: [{ param_name: 'cohort', value: 'secret-cohort' }],
      processes: [{ name: 'capsule_analysis_1', named_parameters: [{ param_name: 'depth', value: 'deep-secret' }] }]
    }
  })
  const id = run.json().id as string
  await proxy.inject({ method: 'PATCH', url: `/api/v1/computations/${id}?name=Trial+B+confidential` })
  await proxy.inject({ method: 'GET', url: `/api/v1/computations/${id}/results/urls?path=private%2Freport.pdf` })
  await proxy.app.close()

  const completed = (await records(store)).filter((record) => record.stage === 'completed') as Array<{ sensitive: Record<string, unknown> }>
  t.same(completed.map((record) => record.sensitive), [
    {
      parameters: [hmac('patient-042'), hmac('')],
      named_parameters: { cohort: hmac('secret-cohort') },
      processes: { capsule_analysis_1: { named_parameters: { depth: hmac('deep-secret') } } }
    },
    { name: hmac('Trial B confidential') },
    { path: hmac('private/report.pdf') }
  ])
  const everything = proxy.log.text() + JSON.stringify(await records(store))
  for (const secret of ['patient-042', 'secret-cohort', 'deep-secret', 'Trial B confidential', 'private/report.pdf', 'signature=']) {
    t.notOk(everything.includes(secret), `"${secret}" appears nowhere in the log or the trail`)
  }
})

async function records (store: Store): Promise<Array<Record<string, unknown>>> {
  const rows = []
  for (const instance of await store.chainInstances()) rows.push(...await store.readChain(instance, 0, 1000))
  return rows.map((row) => JSON.parse(row.body) as Record<string, unknown>)
}

t.test('PostgreSQL going away mid-service: runs are refused unforwarded, reads go on', async (t) => {
  // A TCP relay to the database that the test can cut, as a database crash or network loss would.
  const sockets = new Set<Socket>()
  const relay = createServer((inbound) => {
    const outbound = connect(5432, '127.0.0.1')
    sockets.add(inbound).add(outbound)
    inbound.pipe(outbound).pipe(inbound)
    const drop = (): void => { inbound.destroy(); outbound.destroy() }
    inbound.on('error', drop)
    outbound.on('error', drop)
  })
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve))
  const port = (relay.address() as AddressInfo).port
  const schema = `test_down_${process.pid}`
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL })
  await admin.connect()
  t.teardown(async () => { await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`); await admin.end() })
  const url = new URL(TEST_DATABASE_URL)
  url.host = `127.0.0.1:${port}`
  const store = await openPostgresStore({ connectionString: url.toString(), schema, connections: 2 })
  t.teardown(() => store.close())

  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, {}, { store })
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  t.equal((await proxy.inject({ method: 'DELETE', url: `/api/v1/computations/${computation.id}` })).statusCode, 204, 'with the database up, a delete goes through')

  relay.close()
  for (const socket of sockets) socket.destroy()
  const run = await proxy.inject({ method: 'POST', url: '/api/v1/computations', payload: { capsule_id: simulator.capsules.analysis } })
  t.equal(run.statusCode, 503)
  t.equal(run.json().code, 'PROXY_AUDIT_UNAVAILABLE')
  const other = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  const read = await proxy.inject({ method: 'GET', url: `/api/v1/computations/${other.id}` })
  t.equal(read.statusCode, 200)
  t.same(simulator.requests.map((request) => request.method), ['DELETE', 'GET'], 'the run never reached Code Ocean')
})

t.test('close writes every record, including those queued behind a write already in flight', async (t) => {
  const store = openSqliteDatabase(':memory:')
  t.teardown(() => store.close())
  let release = (): void => {}
  const gate = new Promise<void>((resolve) => { release = resolve })
  // A store whose writes wait for the test: the first batch is in flight while more is queued.
  const slow: Store = { ...store, appendAudit: async (rows) => { await gate; await store.appendAudit(rows) } }
  const sink = createLogSink()
  const trail = new AuditTrail({ store: slow, log: sink.logger, instanceId: 'closing' })
  trail.append('received', 'a1', { n: 1 })
  const inFlight = trail.flush()
  trail.append('completed', 'a1', { n: 2 })
  trail.append('received', 'a2', { n: 3 })
  const closing = trail.close()
  release()
  await Promise.all([inFlight, closing])
  t.same((await store.readChain('closing', 0, 10)).map((row) => row.seq), [1, 2, 3], 'all three records are in the store')
  t.same(sink.lines().filter((line) => Number(line.level) >= 50), [], 'and nothing is reported lost')
})

t.test('mutations that wait for their records while a write is in flight share the next one: one commit for all of them', async (t) => {
  const store = openSqliteDatabase(':memory:')
  t.teardown(() => store.close())
  let release = (): void => {}
  const gate = new Promise<void>((resolve) => { release = resolve })
  const batches: number[][] = []
  const slow: Store = { ...store, appendAudit: async (rows) => { batches.push(rows.map((row) => row.seq)); await gate; await store.appendAudit(rows) } }
  const trail = new AuditTrail({ store: slow, log: createLogSink().logger, instanceId: 'grouped' })
  const first = trail.flushThrough(trail.append('received', 'a1', {}))
  // Three more mutations arrive while the first one's write is in flight.
  const waiting = ['a2', 'a3', 'a4'].map((auditId) => trail.flushThrough(trail.append('received', auditId, {})))
  release()
  await Promise.all([first, ...waiting])
  t.same(batches, [[1], [2, 3, 4]], 'the three waiting were committed together, in one write')
})

t.test('checkpoints vouch for the committed head, periodically while it moves, and once more at close', async (t) => {
  const store = openSqliteDatabase(':memory:')
  t.teardown(() => store.close())
  const sink = createLogSink()
  const trail = new AuditTrail({ store, log: sink.logger, chainKey: TEST_CHAIN_KEY, checkpointLog: sink.logger, checkpointIntervalMs: 10, instanceId: 'vouched' })
  const checkpoints = (): Array<{ seq: number }> => sink.lines().flatMap((line) => line.auditCheckpoint === undefined ? [] : [line.auditCheckpoint as { seq: number }])
  trail.append('received', 'a1', {})
  await trail.flushThrough(1)
  for (let wait = 0; wait < 200 && checkpoints().length === 0; wait++) await new Promise((resolve) => setTimeout(resolve, 10))
  t.match(checkpoints(), [{ seq: 1 }], 'the interval vouched for record 1')
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.equal(checkpoints().length, 1, 'and says nothing more while the head stands still')
  trail.append('completed', 'a1', {})
  await trail.close()
  t.match(checkpoints().at(-1), { seq: 2 }, 'closing vouches for the last record')
  const [head] = await store.readChain('vouched', 1, 1)
  t.match(checkpoints().at(-1), { instanceId: 'vouched', hash: head?.hash })
})

t.test('a record given with its JSON is stored as the same text and link as one serialized by the trail', async (t) => {
  const bodies = async (withJson: boolean): Promise<Array<{ body: string, hash: string }>> => {
    const store = openSqliteDatabase(':memory:')
    t.teardown(() => store.close())
    const trail = new AuditTrail({ store, log: createLogSink().logger, chainKey: TEST_CHAIN_KEY, instanceId: 'same', now: () => Date.UTC(2026, 0, 2) })
    const records: Array<[string, Record<string, unknown>]> = [
      ['a', { auditId: 'a', requestId: 'r1', stage: 'completed', resource: { computation_id: 'c"1' }, status: 200, note: 'é\n\u2028' }],
      // Its own id and stage elsewhere in the record, or one of the fields the trail adds: serialized by the trail.
      ['b', { requestId: 'r2', stage: 'completed', auditId: 'other', status: 404 }],
      ['c', { auditId: 'c', stage: 'completed', seq: 99, recordedAt: 'then' }],
      ['d', { auditId: 'd', stage: 'received', instanceId: 'elsewhere' }],
      // Not a plain record: its JSON is not what the trail's copy of it gives.
      ['e', Object.assign(Object.create({ auditId: 'e', stage: 'completed' }) as Record<string, unknown>, { status: 200 })],
      ['f', Object.defineProperty({ stage: 'completed', status: 200 }, 'auditId', { value: 'f', enumerable: false })],
      ['g', { auditId: 'g', stage: 'completed', toJSON: () => ({ other: true }) }]
    ]
    for (const [auditId, record] of records) trail.append('completed', auditId, record, false, withJson ? JSON.stringify(record) : undefined)
    await trail.close()
    return (await store.readChain('same', 0, 10)).map(({ body, hash }) => ({ body, hash }))
  }
  const serializedOnce = await bodies(true)
  t.same(serializedOnce, await bodies(false))
  // (The last one is what its toJSON says, as it always was.)
  t.same(serializedOnce.slice(0, -1).map(({ body }) => JSON.parse(body) as Record<string, unknown>).map(({ auditId, stage, seq, recordedAt, instanceId }) => [auditId, stage, seq, recordedAt, instanceId]), [
    ['a', 'completed', 1, '2026-01-02T00:00:00.000Z', 'same'],
    ['b', 'completed', 2, '2026-01-02T00:00:00.000Z', 'same'],
    ['c', 'completed', 3, '2026-01-02T00:00:00.000Z', 'same'],
    ['d', 'completed', 4, '2026-01-02T00:00:00.000Z', 'same'],
    ['e', 'completed', 5, '2026-01-02T00:00:00.000Z', 'same'],
    ['f', 'completed', 6, '2026-01-02T00:00:00.000Z', 'same']
  ], 'the trail\'s own fields win')
})
