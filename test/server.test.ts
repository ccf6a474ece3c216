// The process itself: refuses to start on bad configuration with one line per problem, serves
// when configured, and exits 0 on SIGTERM.
import t from 'tap'
import { addressOf, startServer } from './helpers/server-process.js'
import { startTestSimulator } from './helpers/simulator.js'
import { DEFAULT_ACCESS_ENV, DEFAULT_CALLER } from './helpers/app.js'
import { TEST_TOKEN, secretForms } from './helpers/secrets.js'

t.test('bad configuration stops the process with one line per problem and no secret', async (t) => {
  const server = startServer({ CODEOCEAN_TOKEN: TEST_TOKEN, PORT: 'eighty', UPSTREAM_CONNECTIONS: 'many' })
  const [code] = await server.exited
  t.equal(code, 1)
  t.same(server.stderr().trim().split('\n').map((line) => line.split(/[ =]/)[1]).sort(), ['CODEOCEAN_DOMAIN', 'PORT', 'UPSTREAM_CONNECTIONS'])
  for (const secret of secretForms(TEST_TOKEN)) t.notOk(server.stderr().includes(secret))
})

t.test('a missing token file stops the process with one clear line', async (t) => {
  const server = startServer({ CODEOCEAN_DOMAIN: 'https://codeocean.example.com', CODEOCEAN_TOKEN_FILE: '/nonexistent/token' })
  const [code] = await server.exited
  t.equal(code, 1)
  t.equal(server.stderr(), 'codeocean-proxy: the file named by CODEOCEAN_TOKEN_FILE cannot be read (ENOENT): check the path\n')
})

t.test('a configured process serves the API and exits 0 on SIGTERM', async (t) => {
  const simulator = await startTestSimulator(t)
  const server = startServer({ CODEOCEAN_DOMAIN: simulator.url, CODEOCEAN_TOKEN: TEST_TOKEN, PORT: '0', HOST: '127.0.0.1', ...DEFAULT_ACCESS_ENV })
  const address = await addressOf(server)
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  const response = await fetch(`${address}/api/v1/computations/${computation.id}`, { headers: DEFAULT_CALLER, signal: AbortSignal.timeout(5000) })
  t.equal(response.status, 200)
  t.equal((await response.json() as { id: string }).id, computation.id)
  server.child.kill('SIGTERM')
  const [code] = await server.exited
  t.equal(code, 0)
  for (const secret of secretForms(TEST_TOKEN)) t.notOk(server.stdout().includes(secret), 'no secret in the process log')
  t.match(server.stdout(), /"audit":\{/)
})
