// Signals and ports, in a process of its own: a second signal exits at once; past the deadline the
// connections still open are cut and the exit code says so; a log nobody reads any more never
// holds the exit; METRICS_PORT moves /metrics off the API.
import t from 'tap'
import { Pool } from 'undici'
import { DEFAULT_CALLER, DEFAULT_TEST_ENV } from './helpers/app.js'
import { TEST_TOKEN } from './helpers/secrets.js'
import { listeningAddress, logged, startServer } from './helpers/server-process.js'
import { startTestSimulator } from './helpers/simulator.js'

t.test('a second signal exits at once; the first alone would have waited', async (t) => {
  const simulator = await startTestSimulator(t)
  const server = startServer({ CODEOCEAN_DOMAIN: simulator.url, CODEOCEAN_TOKEN: TEST_TOKEN, PORT: '0', HOST: '127.0.0.1', ...DEFAULT_TEST_ENV })
  const address = await listeningAddress(server)
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis, state: 'running' })
  simulator.inject({ delayMs: 10_000 })
  const client = new Pool(address)
  t.teardown(() => client.destroy())
  client.request({ path: `/api/v1/computations/${computation.id}`, method: 'GET', headers: DEFAULT_CALLER }).catch(() => {})
  for (let wait = 0; wait < 400 && simulator.requests.length < 1; wait++) await new Promise((resolve) => setTimeout(resolve, 10))
  server.child.kill('SIGTERM')
  await logged(server, /("draining: refusing new connections)/)
  server.child.kill('SIGTERM')
  const [code] = await server.exited
  t.equal(code, 1)
  t.match(server.stdout(), /second signal: exiting now/)
})

t.test('past SHUTDOWN_TIMEOUT_MS the connections still open are cut and the exit code is 1', async (t) => {
  const simulator = await startTestSimulator(t)
  const server = startServer({ CODEOCEAN_DOMAIN: simulator.url, CODEOCEAN_TOKEN: TEST_TOKEN, PORT: '0', HOST: '127.0.0.1', SHUTDOWN_TIMEOUT_MS: '300', ...DEFAULT_TEST_ENV })
  const address = await listeningAddress(server)
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis, state: 'running' })
  simulator.inject({ delayMs: 2_000 })
  const client = new Pool(address)
  t.teardown(() => client.destroy())
  const cut = client.request({ path: `/api/v1/computations/${computation.id}`, method: 'GET', headers: DEFAULT_CALLER }).then(() => 'answered', (error: Error) => error.message)
  for (let wait = 0; wait < 400 && simulator.requests.length < 1; wait++) await new Promise((resolve) => setTimeout(resolve, 10))
  server.child.kill('SIGTERM')
  t.match(await cut, /other side closed|socket hang up/, 'the caller\'s connection was closed')
  const [code] = await server.exited
  t.equal(code, 1)
  t.match(server.stdout(), /requests still in flight at the shutdown deadline/)
})

t.test('with nobody reading its log any more, SIGTERM still ends the process within SHUTDOWN_TIMEOUT_MS', async (t) => {
  const simulator = await startTestSimulator(t)
  const shutdownTimeoutMs = 5_000
  const server = startServer({ CODEOCEAN_DOMAIN: simulator.url, CODEOCEAN_TOKEN: TEST_TOKEN, PORT: '0', HOST: '127.0.0.1', SHUTDOWN_TIMEOUT_MS: String(shutdownTimeoutMs), ...DEFAULT_TEST_ENV })
  await listeningAddress(server)
  // The log's reader goes away (a closed pipe): every line written from now on fails with EPIPE.
  server.child.stdout.destroy()
  server.child.kill('SIGTERM')
  const unended = setTimeout(() => server.child.kill('SIGKILL'), shutdownTimeoutMs)
  const [code, signal] = await server.exited
  clearTimeout(unended)
  t.equal(signal, null, 'it ended by itself, within SHUTDOWN_TIMEOUT_MS')
  t.equal(code, 0, 'cleanly: only its log was lost')
})

t.test('with METRICS_PORT set, /metrics is not served on the API port', async (t) => {
  const simulator = await startTestSimulator(t)
  const server = startServer({ CODEOCEAN_DOMAIN: simulator.url, CODEOCEAN_TOKEN: TEST_TOKEN, PORT: '0', HOST: '127.0.0.1', METRICS_PORT: '0', ...DEFAULT_TEST_ENV })
  const address = await listeningAddress(server)
  const metricsUrl = await logged(server, /"metrics":"(http:\/\/127\.0\.0\.1:\d+\/metrics)"/)
  t.equal((await fetch(`${address}/metrics`, { signal: AbortSignal.timeout(2_000) })).status, 404)
  t.equal((await fetch(metricsUrl, { signal: AbortSignal.timeout(2_000) })).status, 200)
  server.child.kill('SIGTERM')
  const [code] = await server.exited
  t.equal(code, 0)
})
