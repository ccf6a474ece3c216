// The audit trail under pressure: a process killed mid-burst has a durable `received` record
// for every call Code Ocean saw, and two instances sharing one database keep two intact chains.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { verifyAuditTrail } from '../../src/audit/verify.js'
import { openSqliteStore } from '../../src/store/sqlite.js'
import type { Store } from '../../src/store/store.js'
import { buildTestApp, DEFAULT_TEST_ENV, DEFAULT_CALLER } from '../helpers/app.js'
import { TEST_TOKEN } from '../helpers/secrets.js'
import { listeningAddress, startServer } from '../helpers/server-process.js'
import { startTestSimulator } from '../helpers/simulator.js'
import { forEachStore } from '../helpers/stores.js'

async function records (store: Store): Promise<Array<{ stage: string, requestId: string }>> {
  const rows = []
  for (const instance of await store.chainInstances()) rows.push(...await store.readChain(instance, 0, 10_000))
  return rows.map((row) => JSON.parse(row.body) as { stage: string, requestId: string })
}

t.test('SIGKILL during a burst of runs: every run Code Ocean saw has a durable received record', async (t) => {
  const directory = await mkdtemp(join(tmpdir(), 'codeocean-proxy-kill-'))
  t.teardown(() => rm(directory, { recursive: true, force: true }))
  const databasePath = join(directory, 'audit.sqlite')
  const simulator = await startTestSimulator(t)
  simulator.inject({ method: 'POST', delayMs: 50 })

  const server = startServer({ CODEOCEAN_DOMAIN: simulator.url, CODEOCEAN_TOKEN: TEST_TOKEN, PORT: '0', AUDIT_DB_PATH: databasePath, ...DEFAULT_TEST_ENV })
  t.teardown(() => { server.child.kill('SIGKILL') })
  const address = await listeningAddress(server)

  const burst = Array.from({ length: 40 }, async (_, index) => {
    await new Promise((resolve) => setTimeout(resolve, index * 5))
    await fetch(`${address}/api/v1/computations`, {
      method: 'POST',
      headers: { ...DEFAULT_CALLER, 'content-type': 'application/json', 'x-request-id': `burst-run-${String(index).padStart(4, '0')}` },
      body: JSON.stringify({ capsule_id: simulator.capsules.analysis }),
      signal: AbortSignal.timeout(5000)
    }).catch(() => undefined)
  })
  for (let wait = 0; wait < 400 && simulator.requests.length < 10; wait++) await new Promise((resolve) => setTimeout(resolve, 5))
  server.child.kill('SIGKILL')
  await server.exited
  await Promise.all(burst)

  const seen = simulator.requests.map((request) => String(request.headers['x-request-id']))
  t.ok(seen.length >= 10, `Code Ocean saw ${seen.length} runs before the kill`)
  const store = openSqliteStore(databasePath)
  t.teardown(() => store.close())
  const received = new Set((await records(store)).filter((record) => record.stage === 'received').map((record) => record.requestId))
  t.same(seen.filter((id) => !received.has(id)), [], 'none of them lacks its received record')
  t.equal((await verifyAuditTrail(store)).broken, undefined, 'and what was written verifies')
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
  t.same(await verifyAuditTrail(store), { chains: 2, records: 80 }, 'both chains verify, nothing missing')
})
