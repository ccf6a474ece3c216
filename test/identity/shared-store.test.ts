// Several instances behind one load balancer share PostgreSQL: a key made anywhere works
// everywhere and a revocation holds at once on every instance (here with keys read on every
// call, as test apps do unless asked: test/store/key-revocations.test.ts announces them), and a
// computation started on one instance is its owner's on all of them.
import t from 'tap'
import { createServiceKey } from '../../src/identity/service-keys.js'
import { buildTestApp } from '../helpers/app.js'
import { startTestSimulator } from '../helpers/simulator.js'
import { TEST_DATABASE_URL, forEachStore } from '../helpers/stores.js'

const ALICE = { 'x-forwarded-user': 'alice@example.com', 'x-forwarded-groups': 'team-a' }
const BOB = { 'x-forwarded-user': 'bob@example.com', 'x-forwarded-groups': 'team-b' }

forEachStore(t, 'two instances on one database share keys, revocations and ownership', async (t, stores) => {
  const simulator = await startTestSimulator(t)
  // Each instance opens its own connection to the shared database, as separate processes would.
  const env = { POLICY_FILE: '', ...(stores.name === 'postgres' ? { DATABASE_URL: TEST_DATABASE_URL } : {}) }
  const a = await buildTestApp(t, simulator.url, env, { store: await stores.open() })
  const b = await buildTestApp(t, simulator.url, env, { store: await stores.open() })

  const { key, row } = await createServiceKey(a.store, { subject: 'pipeline-bot', groups: [] })
  const asBot = { authorization: `Bearer ${key}` }
  const run = await b.inject({ method: 'POST', url: '/api/v1/computations', headers: asBot, payload: { capsule_id: simulator.capsules.analysis } }, null)
  t.equal(run.statusCode, 200, 'a key made through one instance works on the other')
  const botRun = run.json().id as string
  t.equal((await a.inject({ method: 'GET', url: `/api/v1/computations/${botRun}`, headers: asBot }, null)).statusCode, 200, 'its run is its own on the first instance too')

  t.equal(await a.store.revokeServiceKey(row.keyId, new Date().toISOString()), true)
  const revoked = await b.inject({ method: 'GET', url: `/api/v1/computations/${botRun}`, headers: asBot }, null)
  t.equal(revoked.statusCode, 401, 'revoked on one instance, refused on the next call to the other')

  const alices = (await a.inject({ method: 'POST', url: '/api/v1/computations', payload: { capsule_id: simulator.capsules.analysis } }, ALICE)).json().id as string
  const before = simulator.requests.length
  for (const request of [
    { method: 'GET', url: `/api/v1/computations/${alices}` },
    { method: 'DELETE', url: `/api/v1/computations/${alices}` }
  ] as const) {
    t.equal((await b.inject({ ...request }, BOB)).statusCode, 404, `Bob cannot ${request.method} Alice's run on the other instance`)
  }
  t.equal(simulator.requests.length, before, 'and Code Ocean heard nothing of it')
  t.equal((await b.inject({ method: 'GET', url: `/api/v1/computations/${alices}` }, ALICE)).statusCode, 200, 'Alice reaches it on either instance')
  const list = await b.inject({ method: 'GET', url: `/api/v1/capsules/${simulator.capsules.analysis}/computations` }, ALICE)
  t.same(list.json().map((computation: { id: string }) => computation.id), [alices], 'the other instance filters lists by the shared owners')
})
