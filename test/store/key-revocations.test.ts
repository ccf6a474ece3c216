// With PostgreSQL, a key revoked anywhere (the keys command, another instance) is forgotten at
// once by every instance listening, however recently it read the key; the listening connection
// comes back by itself when it is cut, and goes with the app.
import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import t, { type Test } from 'tap'
import { runKeysCommand } from '../../src/cli/keys.js'
import { Unauthenticated } from '../../src/errors.js'
import { createServiceKey, ServiceKeys } from '../../src/identity/service-keys.js'
import { APPLICATION_NAME, listenForRevocations, type RevocationListener } from '../../src/store/postgres/key-revocations.js'
import { openPostgresStore } from '../../src/store/postgres.js'
import { buildTestApp } from '../helpers/app.js'
import { parsePrometheusText, sampleValue } from '../helpers/prometheus.js'
import { startTestSimulator } from '../helpers/simulator.js'
import { postgresSchema, TEST_DATABASE_URL } from '../helpers/stores.js'
import { startTcpRelay } from '../helpers/tcp-relay.js'

/** The backends of listening connections named `name`, as the server shows them. */
async function listeners (name: string): Promise<number[]> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL })
  await client.connect()
  try {
    return (await client.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN %'", [name])).rows.map((row) => row.pid)
  } finally {
    await client.end()
  }
}

/** Waits, a bounded while, for `check` to hold. */
async function until (what: string, check: () => Promise<boolean>): Promise<void> {
  for (let wait = 0; wait < 1000; wait++) {
    if (await check()) return
    await sleep(10)
  }
  throw new Error(`${what} did not happen within 10 s`)
}

/** A listener under a name of its own, whose revocations the test can wait for. */
function listening (t: Test, onRevoked: (keyId: string) => void = () => {}, url = TEST_DATABASE_URL) {
  const name = `test ${randomBytes(6).toString('hex')}`
  const heard: string[] = []
  const errors: Error[] = []
  const listener: RevocationListener = listenForRevocations({
    connectionString: url,
    applicationName: name,
    onRevoked: (keyId) => { heard.push(keyId); onRevoked(keyId) },
    onError: (error) => { errors.push(error) }
  })
  t.teardown(() => listener.close())
  return { name, heard, errors, listener }
}

t.test('a key revoked by the keys command is refused at once by an instance that read it a moment ago', async (t) => {
  const { schema, url } = await postgresSchema(t)
  const store = await openPostgresStore({ connectionString: TEST_DATABASE_URL, schema, connections: 2 })
  t.teardown(() => store.close())
  const { key, row } = await createServiceKey(store, { subject: 'ci', groups: [] })
  // A clock that never moves: only the announcement can make the held row go.
  const keys = new ServiceKeys(store, { cacheMs: 1000, now: () => Date.parse('2026-12-06T12:00:00.000Z') })
  const { heard, listener } = listening(t, (keyId) => { keys.forget(keyId) })
  await listener.started
  t.equal((await keys.authenticate(key)).keyId, row.keyId, 'read and held')

  const io = { stdout: { write: () => true }, stderr: { write: () => true }, env: { DATABASE_URL: url } }
  t.equal(await runKeysCommand(['revoke', row.keyId], io), 0)
  await until('the revocation to be heard', async () => heard.includes(row.keyId))
  await t.rejects(keys.authenticate(key), new Unauthenticated('The service key has been revoked.'))
  t.equal(await store.revokeServiceKey(row.keyId, new Date().toISOString()), false, 'revoking it again changes nothing')
})

t.test('the listening connection comes back by itself when it is cut, and hears revocations again', async (t) => {
  const { schema } = await postgresSchema(t)
  const store = await openPostgresStore({ connectionString: TEST_DATABASE_URL, schema, connections: 2 })
  t.teardown(() => store.close())
  const { name, heard, errors, listener } = listening(t)
  await listener.started
  const [first] = await listeners(name)
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL })
  await admin.connect()
  await admin.query('SELECT pg_terminate_backend($1)', [first])
  await admin.end()
  await until('the failure to be reported', async () => errors.length > 0)
  await until('a new listening connection', async () => (await listeners(name)).some((pid) => pid !== first))
  const { row } = await createServiceKey(store, { subject: 'ci', groups: [] })
  t.ok(await store.revokeServiceKey(row.keyId, new Date().toISOString()))
  await until('the revocation to be heard', async () => heard.includes(row.keyId))
  await listener.close()
  t.same(await listeners(name), [], 'closed, it listens no more')
})

t.test('an app on PostgreSQL drops a key revoked elsewhere as soon as it hears of it, and warns when its listening connection fails', async (t) => {
  const simulator = await startTestSimulator(t)
  const { schema, url } = await postgresSchema(t)
  const store = await openPostgresStore({ connectionString: TEST_DATABASE_URL, schema, connections: 2 })
  t.teardown(() => store.close())
  const proxy = await buildTestApp(t, simulator.url, { DATABASE_URL: url, SERVICE_KEY_CACHE_MS: '1000' }, { store })
  const { key, row } = await createServiceKey(store, { subject: 'ci', groups: ['proxy-admins'] })
  const computation = `/api/v1/computations/${simulator.addComputation({ capsule_id: simulator.capsules.analysis }).id}`
  const heard = async (): Promise<number> => {
    const metrics = await proxy.inject({ method: 'GET', url: '/metrics' }, null)
    return sampleValue(parsePrometheusText(metrics.body), 'codeocean_proxy_key_revocations_heard_total') ?? 0
  }
  await until('the app to listen', async () => (await listeners(APPLICATION_NAME)).length > 0)
  t.equal((await proxy.inject({ method: 'GET', url: computation, headers: { authorization: `Bearer ${key}` } }, null)).statusCode, 200, 'the key is read, and held')
  t.ok(await store.revokeServiceKey(row.keyId, new Date().toISOString()))
  await until('the revocation to be heard', async () => await heard() === 1)
  t.equal((await proxy.inject({ method: 'GET', url: computation, headers: { authorization: `Bearer ${key}` } }, null)).statusCode, 401, 'refused once heard')

  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL })
  await admin.connect()
  await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [APPLICATION_NAME])
  await admin.end()
  await until('the warning', async () => proxy.log.lines().some((line) => String(line.msg).startsWith('the connection listening for key revocations failed')))
})

t.test('an app on PostgreSQL listens while it runs; with SERVICE_KEY_CACHE_MS=0 it has nothing to forget and does not', async (t) => {
  const simulator = await startTestSimulator(t)
  const { schema } = await postgresSchema(t)
  const store = await openPostgresStore({ connectionString: TEST_DATABASE_URL, schema, connections: 2 })
  t.teardown(() => store.close())
  const before = (await listeners(APPLICATION_NAME)).length
  const uncached = await buildTestApp(t, simulator.url, { DATABASE_URL: TEST_DATABASE_URL, SERVICE_KEY_CACHE_MS: '0' }, { store })
  const cached = await buildTestApp(t, simulator.url, { DATABASE_URL: TEST_DATABASE_URL, SERVICE_KEY_CACHE_MS: '1000' }, { store })
  await until('the app to listen', async () => (await listeners(APPLICATION_NAME)).length === before + 1)
  await cached.app.close()
  await uncached.app.close()
  await until('the app to stop listening', async () => (await listeners(APPLICATION_NAME)).length === before)
})

t.test('closing does not wait on a database that stopped answering', async (t) => {
  const direct = new URL(TEST_DATABASE_URL)
  const relay = await startTcpRelay(t, { host: direct.hostname, port: Number(direct.port || 5432) })
  const through = new URL(TEST_DATABASE_URL)
  through.host = `127.0.0.1:${relay.port}`
  const { listener } = listening(t, () => {}, through.href)
  await listener.started
  relay.stall()
  const started = Date.now()
  await listener.close()
  t.ok(Date.now() - started < 5_000, `closed in ${Date.now() - started} ms, with the server silent`)
})

t.test('a database that cannot be reached is reported, and tried again', async (t) => {
  const { errors, listener } = listening(t, () => {}, 'postgres://postgres@127.0.0.1:1/test')
  await listener.started
  await until('the failure to be reported', async () => errors.length > 0)
  await until('another try', async () => errors.length > 1)
  await listener.close()
  const reported = errors.length
  await sleep(1500)
  t.equal(errors.length, reported, 'closed, it tries no more')
})
