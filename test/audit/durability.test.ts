// The audit trail under pressure: a process killed mid-burst has a durable `received` record
// for every call Code Ocean saw, and two instances sharing one database keep two intact chains.
import pg from 'pg'
import t from 'tap'
import { verifyAuditTrail } from '../../src/audit/verify.js'
import { openPostgresStore } from '../../src/store/postgres.js'
import type { Store } from '../../src/store/store.js'
import { buildTestApp, DEFAULT_TEST_ENV, DEFAULT_CALLER } from '../helpers/app.js'
import { TEST_CHAIN_KEYS, TEST_HMAC_KEY, TEST_TOKEN } from '../helpers/secrets.js'
import { listeningAddress, startServer } from '../helpers/server-process.js'
import { startTestSimulator } from '../helpers/simulator.js'
import { forEachStore, postgresSchema, TEST_DATABASE_URL } from '../helpers/stores.js'

async function records (store: Store): Promise<Array<{ stage: string, requestId: string }>> {
  const rows = []
  for (const instance of await store.chainInstances()) rows.push(...await store.readChain(instance, 0, 10_000))
  return rows.map((row) => JSON.parse(row.body) as { stage: string, requestId: string })
}

// PostgreSQL, whose writes wait without blocking the proxy's event loop: a second connection
// holds a lock on the audit table, so every run's received record waits as long as the test
// says. A proxy that forwarded before its record was durable would reach Code Ocean in that
// window; one that waits does not. Then the lock goes, runs flow, and the process is killed.
t.test('SIGKILL during a burst of runs: nothing is forwarded before its record is durable, and every run Code Ocean saw has one', async (t) => {
  const { schema, url: databaseUrl } = await postgresSchema(t)
  const simulator = await startTestSimulator(t)
  simulator.inject({ method: 'POST', delayMs: 50 })
  const server = startServer({ CODEOCEAN_DOMAIN: simulator.url, CODEOCEAN_TOKEN: TEST_TOKEN, PORT: '0', DATABASE_URL: databaseUrl, AUDIT_HMAC_KEY: TEST_HMAC_KEY, ...DEFAULT_TEST_ENV })
  t.teardown(() => { server.child.kill('SIGKILL') })
  const address = await listeningAddress(server)

  const locker = new pg.Client({ connectionString: databaseUrl })
  await locker.connect()
  t.teardown(() => locker.end())
  await locker.query('BEGIN')
  await locker.query('LOCK TABLE audit_records IN EXCLUSIVE MODE')
  const watcher = new pg.Client({ connectionString: TEST_DATABASE_URL })
  await watcher.connect()
  t.teardown(() => watcher.end())

  const burst = Array.from({ length: 40 }, async (_, index) => {
    await new Promise((resolve) => setTimeout(resolve, index * 5))
    await fetch(`${address}/api/v1/computations`, {
      method: 'POST',
      headers: { ...DEFAULT_CALLER, 'content-type': 'application/json', 'x-request-id': `burst-run-${String(index).padStart(4, '0')}` },
      body: JSON.stringify({ capsule_id: simulator.capsules.analysis }),
      signal: AbortSignal.timeout(8000)
    }).catch(() => undefined)
  })
  let waiting = 0
  for (let wait = 0; wait < 200 && waiting === 0; wait++) {
    const { rows } = await watcher.query<{ waiting: number }>(
      "SELECT count(*)::int AS waiting FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query ILIKE '%audit_records%' AND pid <> $1",
      [(locker as unknown as { processID: number }).processID])
    waiting = rows[0]?.waiting ?? 0
    if (waiting === 0) await new Promise((resolve) => setTimeout(resolve, 50))
  }
  t.ok(waiting > 0, 'the proxy\'s audit write waits on the lock')
  // Long enough for a run forwarded without waiting to reach Code Ocean many times over.
  await new Promise((resolve) => setTimeout(resolve, 500))
  t.equal(simulator.requests.length, 0, 'no run reached Code Ocean while its received record could not be committed')

  await locker.query('COMMIT')
  for (let wait = 0; wait < 400 && simulator.requests.length < 10; wait++) await new Promise((resolve) => setTimeout(resolve, 5))
  server.child.kill('SIGKILL')
  await server.exited
  await Promise.all(burst)

  const seen = simulator.requests.map((request) => String(request.headers['x-request-id']))
  t.ok(seen.length >= 1, `Code Ocean saw ${seen.length} runs before the kill`)
  const store = await openPostgresStore({ connectionString: TEST_DATABASE_URL, schema, connections: 1 })
  t.teardown(() => store.close())
  const received = new Set((await records(store)).filter((record) => record.stage === 'received').map((record) => record.requestId))
  t.same(seen.filter((id) => !received.has(id)), [], 'none of them lacks its received record')
  t.equal((await verifyAuditTrail(store, { keys: TEST_CHAIN_KEYS })).broken, undefined, 'and what was written verifies')
})

forEachStore(t, 'two instances on one database under concurrent load keep two intact chains', async (t, stores) => {
  const simulator = await startTestSimulator(t)
  const instances = [
    await buildTestApp(t, simulator.url, {}, { store: await stores.open() }),
    await buildTestApp(t, simulator.url, {}, { store: await stores.open() })
  ]
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  const calls = Array.from({ length: 40 }, async (_, index) => {
    const proxy = instances[index % 2]
    if (proxy === undefined) throw new Error('no instance')
    return index % 4 === 0
      ? await proxy.inject({ method: 'PATCH', url: `/api/v1/computations/${computation.id}?name=run+${index}` })
      : await proxy.inject({ method: 'GET', url: `/api/v1/computations/${computation.id}` })
  })
  const statuses = (await Promise.all(calls)).map((response) => response.statusCode)
  t.ok(statuses.every((status) => status === 200 || status === 204), 'every call succeeded')
  for (const proxy of instances) await proxy.app.close()

  const store = await stores.open()
  // Ten renames with two records each, thirty reads with one.
  t.same(await verifyAuditTrail(store, { keys: TEST_CHAIN_KEYS }), { chains: 2, records: 50 }, 'both chains verify, nothing missing')
})
