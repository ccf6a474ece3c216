// The process itself: refuses to start on bad configuration, a port in use or a store it cannot
// reach with one line per problem (every problem in one run, nothing made), serves when
// configured, and exits 0 on SIGTERM.
import { once } from 'node:events'
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { listeningAddress, startServer } from './helpers/server-process.js'
import { startTestSimulator } from './helpers/simulator.js'
import { DEFAULT_TEST_ENV, DEFAULT_CALLER } from './helpers/app.js'
import { TEST_HMAC_KEY, TEST_TOKEN, secretForms } from './helpers/secrets.js'

async function temporaryDirectory (t: Test): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'codeocean-proxy-server-'))
  t.teardown(() => rm(directory, { recursive: true, force: true }))
  return directory
}

t.test('bad configuration stops the process with one line per problem and no secret', async (t) => {
  const server = startServer({ CODEOCEAN_TOKEN: TEST_TOKEN, PORT: 'eighty', UPSTREAM_CONNECTIONS: 'many' })
  const [code] = await server.exited
  t.equal(code, 1)
  t.same(server.stderr().trim().split('\n').map((line) => line.split(/[ =]/)[1]).sort(), ['CODEOCEAN_DOMAIN', 'PORT', 'UPSTREAM_CONNECTIONS'])
  for (const secret of secretForms(TEST_TOKEN)) t.notOk(server.stderr().includes(secret))
})

t.test('one run names every problem of the environment and the policy, after a warning about a misspelt variable', async (t) => {
  const directory = await temporaryDirectory(t)
  const policy = join(directory, 'policy.yaml')
  await writeFile(policy, 'rules:\n  - name: team-a\n    groups: [team-a]\n    actions: [run]\n    capsules: [capsule-a]\n')
  const server = startServer({ PORT: 'abc', CODEOCEAN_DOMAIN: 'ftp://codeocean.example.com', UPSTREAM_RETRY_ATEMPTS: '5', POLICY_FILE: policy })
  const [code] = await server.exited
  t.equal(code, 1)
  t.same(server.stderr().trimEnd().split('\n'), [
    'codeocean-proxy: warning: UPSTREAM_RETRY_ATEMPTS is set, but codeocean-proxy reads no such variable and ignores it: did you mean UPSTREAM_RETRY_ATTEMPTS?',
    'codeocean-proxy: PORT="abc" is invalid: expected a TCP port, 0 to 65535',
    'codeocean-proxy: CODEOCEAN_DOMAIN is invalid: the scheme must be https (or http for a local test server), not ftp:',
    'codeocean-proxy: CODEOCEAN_TOKEN is required: set it to the Code Ocean access token, or set CODEOCEAN_TOKEN_FILE to a file holding it',
    `codeocean-proxy: POLICY_FILE ${policy}: rule "team-a" (/rules/0) has "capsule-a" in capsules: capsule ids are UUIDs (e.g. 5f5c3c4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f), so it could never match a call; use the capsule's id, or "*" for all`
  ])
})

t.test('a port in use stops the process with one line saying what to do, before anything is made', async (t) => {
  const taken = createServer().listen(0, '127.0.0.1')
  await once(taken, 'listening')
  t.teardown(() => taken.close())
  const port = (taken.address() as AddressInfo).port
  const directory = await temporaryDirectory(t)
  const server = startServer({ CODEOCEAN_DOMAIN: 'https://codeocean.example.com', CODEOCEAN_TOKEN: TEST_TOKEN, HOST: '127.0.0.1', PORT: String(port), AUDIT_DB_PATH: join(directory, 'data', 'proxy.sqlite') })
  const [code] = await server.exited
  t.equal(code, 1)
  t.equal(server.stderr(), `codeocean-proxy: PORT ${port} is already in use on 127.0.0.1: stop what listens there, or set PORT to a free port\n`)
  t.same(await readdir(directory), [], 'no database, no audit key, no folder')
})

t.test('a store that cannot be reached stops the process with one line, without its URL', async (t) => {
  const server = startServer({ CODEOCEAN_DOMAIN: 'https://codeocean.example.com', CODEOCEAN_TOKEN: TEST_TOKEN, PORT: '0', DATABASE_URL: 'postgres://keeper:hunter2@127.0.0.1:1/proxy', AUDIT_HMAC_KEY: TEST_HMAC_KEY })
  const [code] = await server.exited
  t.equal(code, 1)
  t.equal(server.stderr(), 'codeocean-proxy: PostgreSQL store: migrate failed (ECONNREFUSED): check DATABASE_URL\n')
})

t.test('a missing token file stops the process with one clear line', async (t) => {
  const server = startServer({ CODEOCEAN_DOMAIN: 'https://codeocean.example.com', CODEOCEAN_TOKEN_FILE: '/nonexistent/token' })
  const [code] = await server.exited
  t.equal(code, 1)
  t.equal(server.stderr(), 'codeocean-proxy: the file named by CODEOCEAN_TOKEN_FILE cannot be read (ENOENT): check the path\n')
})

t.test('a configured process serves the API and exits 0 on SIGTERM', async (t) => {
  const simulator = await startTestSimulator(t)
  const server = startServer({ CODEOCEAN_DOMAIN: simulator.url, CODEOCEAN_TOKEN: TEST_TOKEN, PORT: '0', HOST: '127.0.0.1', CODEOCEAN_TOKN: 'stray', ...DEFAULT_TEST_ENV })
  const address = await listeningAddress(server)
  t.match(server.stdout(), /"level":40,.*"msg":"CODEOCEAN_TOKN is set, but codeocean-proxy reads no such variable and ignores it: did you mean CODEOCEAN_TOKEN\?"/, 'a misspelt variable is a warning in the log')
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
