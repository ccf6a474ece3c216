// `npm run demo` as a newcomer runs it: its key runs a capsule on the demo, and a proxy started
// with the defaults refuses that key even on the demo's own database; a port in use stops it with
// one line, before it has made a database or a key.
import { once } from 'node:events'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { NO_LOAD_SHEDDING_ENV } from './helpers/app.js'
import { TEST_TOKEN } from './helpers/secrets.js'
import { listeningAddress, startServer } from './helpers/server-process.js'
import { startTestSimulator } from './helpers/simulator.js'
import { spawnChild, type Child } from './helpers/spawn-child.js'

interface Demo { child: Child, exited: Promise<[number | null]>, stderr: () => string }

function startDemo (t: Test, dataDir: string, env: Record<string, string>): Demo {
  const child = spawnChild(process.execPath, ['--import', 'tsx', 'src/demo.ts', '--data-dir', dataDir], { ...NO_LOAD_SHEDDING_ENV, ...env })
  let stderr = ''
  child.stdout.resume()
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const exited = once(child, 'exit') as Promise<[number | null]>
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
  void exited.then(() => clearTimeout(timer))
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      await exited
    }
  })
  return { child, exited, stderr: () => stderr }
}

/** Waits (up to 30 s) for the demo's banner; returns the proxy's address and the key it printed. */
async function banner (demo: Demo): Promise<{ address: string, key: string }> {
  for (let attempt = 0; attempt < 600; attempt++) {
    const [, address] = /proxy +(http:\/\/127\.0\.0\.1:\d+)/.exec(demo.stderr()) ?? []
    const [, key] = /export KEY=(cpx_\S+)/.exec(demo.stderr()) ?? []
    if (address !== undefined && key !== undefined) return { address, key }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`the demo printed no key: ${demo.stderr()}`)
}

async function temporaryDirectory (t: Test): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'codeocean-proxy-demo-'))
  t.teardown(() => rm(directory, { recursive: true, force: true }))
  return directory
}

const basic = (key: string): Record<string, string> => ({ authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}`, 'content-type': 'application/json' })

t.test('the demo\'s key runs a capsule on the demo, and a proxy started with the defaults refuses it on the same database', async (t) => {
  const dataDir = join(await temporaryDirectory(t), 'demo')
  // Variables a real proxy is configured with do not reach the demo's data.
  const demo = startDemo(t, dataDir, { PORT: '0', DATABASE_URL: 'postgres://127.0.0.1:1/production' })
  const { address, key } = await banner(demo)
  const run = await fetch(`${address}/api/v1/computations`, { method: 'POST', headers: basic(key), body: JSON.stringify({ capsule_id: 'a1c3e5f7-0b2d-4e6f-8a1c-3e5f70b2d4e6' }), signal: AbortSignal.timeout(10_000) })
  t.equal(run.status, 200, 'the demo takes its own key')
  t.same((await readdir(dataDir)).sort(), ['codeocean-proxy.sqlite', 'codeocean-proxy.sqlite-shm', 'codeocean-proxy.sqlite-wal', 'codeocean-proxy.sqlite.hmac-key'], 'everything in its own folder')

  const simulator = await startTestSimulator(t)
  const server = startServer({ CODEOCEAN_DOMAIN: simulator.url, CODEOCEAN_TOKEN: TEST_TOKEN, PORT: '0', HOST: '127.0.0.1', AUDIT_DB_PATH: join(dataDir, 'codeocean-proxy.sqlite'), ...NO_LOAD_SHEDDING_ENV })
  t.teardown(async () => {
    server.child.kill('SIGTERM')
    await server.exited
  })
  const proxy = await listeningAddress(server)
  const refused = await fetch(`${proxy}/api/v1/computations`, { method: 'POST', headers: basic(key), body: JSON.stringify({ capsule_id: simulator.capsules.analysis }), signal: AbortSignal.timeout(10_000) })
  t.equal(refused.status, 401)
  t.match(await refused.json(), { code: 'PROXY_UNAUTHENTICATED', message: /made by npm run demo and works only with the demo/ })
  t.equal(simulator.requests.length, 0, 'nothing reached Code Ocean')
})

t.test('a port in use stops the demo with one line, before it has made anything', async (t) => {
  const taken = createServer().listen(0, '127.0.0.1')
  await once(taken, 'listening')
  t.teardown(() => taken.close())
  const port = (taken.address() as AddressInfo).port
  const directory = await temporaryDirectory(t)
  const demo = startDemo(t, join(directory, 'demo'), { PORT: String(port) })
  const [code] = await demo.exited
  t.equal(code, 1)
  t.equal(demo.stderr(), `codeocean-proxy demo: PORT ${port} is already in use on 127.0.0.1: stop what listens there, or set PORT to a free port\n`)
  t.same(await readdir(directory), [], 'no database, no key')
})
