// SIGTERM under load, in a process of its own: every request in flight completes and is audited,
// new connections are refused, metrics on their own port stay up, and the exit code is 0.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { Pool } from 'undici'
import { verifyAuditTrail } from '../src/audit/verify.js'
import { openSqliteDatabase } from '../src/store/sqlite-database.js'
import { DEFAULT_TEST_ENV, DEFAULT_CALLER } from './helpers/app.js'
import { parsePrometheusText, sampleValue } from './helpers/prometheus.js'
import { TEST_CHAIN_KEYS, TEST_HMAC_KEY, TEST_TOKEN } from './helpers/secrets.js'
import { listeningAddress, logged, startServer } from './helpers/server-process.js'
import { startTestSimulator } from './helpers/simulator.js'

const BURST = 20

async function auditFile (t: Test): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'codeocean-proxy-shutdown-'))
  t.teardown(() => rm(directory, { recursive: true, force: true }))
  return join(directory, 'audit.sqlite')
}

t.test('SIGTERM during a burst of slow calls: all complete and are audited, new connections are refused, exit 0', async (t) => {
  const simulator = await startTestSimulator(t)
  const path = await auditFile(t)
  const server = startServer({
    CODEOCEAN_DOMAIN: simulator.url, CODEOCEAN_TOKEN: TEST_TOKEN, AUDIT_HMAC_KEY: TEST_HMAC_KEY, AUDIT_DB_PATH: path,
    PORT: '0', HOST: '127.0.0.1', METRICS_PORT: '0', POLL_COALESCE: 'false', ...DEFAULT_TEST_ENV,
    // One caller makes the whole burst: its share of the calls to Code Ocean must hold it.
    UPSTREAM_MAX_PER_CALLER: String(BURST)
  })
  const address = await listeningAddress(server)
  const metricsUrl = await logged(server, /"metrics":"(http:\/\/127\.0\.0\.1:\d+\/metrics)"/)
  const client = new Pool(address, { connections: BURST })
  t.teardown(() => client.close())
  const computations = Array.from({ length: BURST }, () => simulator.addComputation({ capsule_id: simulator.capsules.analysis, state: 'running' }))
  simulator.inject({ delayMs: 3_000 })
  const burst = computations.map(async ({ id }) => {
    const response = await client.request({ path: `/api/v1/computations/${id}`, method: 'GET', headers: DEFAULT_CALLER })
    return { status: response.statusCode, id: (await response.body.json() as { id: string }).id }
  })
  for (let wait = 0; wait < 400 && simulator.requests.length < BURST; wait++) await new Promise((resolve) => setTimeout(resolve, 10))
  t.equal(simulator.requests.length, BURST, 'the whole burst is waiting on Code Ocean')

  server.child.kill('SIGTERM')
  await logged(server, /("draining: refusing new connections)/)
  const late = await fetch(`${address}/livez`, { signal: AbortSignal.timeout(2_000) }).then((response) => response.status, (error: Error) => (error.cause as { code?: string } | undefined)?.code)
  t.equal(late, 'ECONNREFUSED', 'a new connection is refused')
  const scrape = await fetch(metricsUrl, { signal: AbortSignal.timeout(2_000) })
  t.equal(scrape.status, 200, 'metrics stay up while draining')
  t.ok((sampleValue(parsePrometheusText(await scrape.text()), 'codeocean_proxy_upstream_calls', { state: 'active' }) ?? 0) > 0, 'showing the calls still out')

  const answers = await Promise.all(burst)
  t.same(answers.map((answer) => answer.status), Array(BURST).fill(200), 'every request in flight completed')
  t.same(answers.map((answer) => answer.id), computations.map(({ id }) => id))
  const [code] = await server.exited
  t.equal(code, 0)

  const store = openSqliteDatabase(path)
  t.teardown(() => store.close())
  const completed = await store.queryAudit({ stage: 'completed', limit: 1000 })
  t.equal(completed.filter((row) => row.action === 'getComputation' && row.status === 200).length, BURST, 'every one is in the durable audit trail')
  t.same(await verifyAuditTrail(store, { keys: TEST_CHAIN_KEYS }), { chains: 1, records: BURST }, 'and the chain verifies: one record per read')
  t.equal(server.stdout().split('\n').filter((line) => line.includes('"stage":"completed"')).length, BURST, 'and in the log')
})
