// What start-up used is given back before the proxy listens: one memory-reducing collection in
// the main thread and one in the store's worker, when Node exposes gc() (the start flags do).
import t from 'tap'
import { returnStartUpMemory } from '../src/start-up-memory.js'
import { listeningAddress, startServer } from './helpers/server-process.js'
import { runToEnd } from './helpers/spawn-child.js'
import { TEST_TOKEN } from './helpers/secrets.js'

interface Collected { grown: number, returned: boolean, after: number }

async function growThenReturn (flags: string[]): Promise<Collected> {
  const ran = await runToEnd(process.execPath, [...flags, '--import', 'tsx', 'test/fixtures/grown-young-generation.ts'], {}, 60_000)
  if (ran.code !== 0) throw new Error(`the fixture failed (${ran.code}): ${ran.stderr}`)
  return JSON.parse(ran.stdout) as Collected
}

t.test('with gc() exposed, the young generation that start-up grew is shrunk back', async (t) => {
  const { grown, returned, after } = await growThenReturn(['--expose-gc', '--max-semi-space-size=16'])
  t.equal(returned, true)
  // Grown to the cap (two semi-spaces of 16 MB), back to V8's smallest afterwards (about 1 MB).
  t.ok(grown >= 16 * 2 ** 20, `grown to ${grown} bytes`)
  t.ok(after <= grown / 4, `${after} bytes after, from ${grown}`)
})

t.test('without gc() exposed, nothing is collected and nothing fails', async (t) => {
  const { returned } = await growThenReturn(['--max-semi-space-size=16'])
  t.equal(returned, false)
})

t.test('the collection asked for is a full, synchronous, memory-reducing one', async (t) => {
  const asked: unknown[] = []
  const collect = ((options?: unknown) => { asked.push(options) }) as NodeJS.GCFunction
  t.equal(returnStartUpMemory(collect), true)
  t.same(asked, [{ type: 'major', execution: 'sync', flavor: 'last-resort' }])
  t.equal(returnStartUpMemory(undefined), false, 'nothing to ask without gc()')
})

t.test('the proxy collects once in its main thread and once in its store worker, before it listens', async (t) => {
  const reporter = new URL('fixtures/report-collections.mjs', import.meta.url).href
  const server = startServer(
    { CODEOCEAN_DOMAIN: 'http://127.0.0.1:9', CODEOCEAN_TOKEN: TEST_TOKEN, PORT: '0', AUDIT_DB_PATH: ':memory:' },
    60_000,
    [process.execPath, '--expose-gc', '--import', reporter, '--import', 'tsx', 'src/server.ts']
  )
  await listeningAddress(server)
  const output = server.stdout()
  const beforeListening = output.slice(0, output.indexOf('Server listening'))
  const collections = [...beforeListening.matchAll(/gc\(\) in thread (\d+): (.*)\n/g)].map(([, thread, options]) => ({ thread: Number(thread), options: JSON.parse(String(options)) as unknown }))
  const lastResort = { type: 'major', execution: 'sync', flavor: 'last-resort' }
  t.same(collections.filter(({ thread }) => thread === 0), [{ thread: 0, options: lastResort }], 'the main thread, once')
  t.same(collections.filter(({ thread }) => thread !== 0).map(({ options }) => options), [lastResort], 'the store worker, once')
  server.child.kill('SIGTERM')
  const [code] = await server.exited
  t.equal(code, 0)
  t.notOk(server.stdout().includes(TEST_TOKEN))
})
