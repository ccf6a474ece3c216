// The drivers of optional parts are loaded only when configured: a proxy on SQLite without
// REDIS_URL never loads pg or ioredis, and each is loaded when its part is configured. Swagger
// UI is loaded by the first visit to /docs, not at start. Node's own fetch client (its bundled
// undici) is never loaded: the proxy forwards with the undici package, and takes node:http where
// an ESM import would load that client (src/net/node-http.ts says what it would cost).
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { TEST_HMAC_KEY, TEST_TOKEN } from './helpers/secrets.js'
import { runToEnd } from './helpers/spawn-child.js'
import { postgresSchema } from './helpers/stores.js'

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

interface Loaded { pg: boolean, ioredis: boolean, swaggerUi: boolean, nodeFetch: boolean, swaggerUiOnVisit: boolean }

async function loadedDrivers (env: Record<string, string>): Promise<Loaded> {
  const ran = await runToEnd(process.execPath, ['--import', 'tsx', 'test/fixtures/loaded-drivers.ts'], {
    CODEOCEAN_DOMAIN: 'http://127.0.0.1:9',
    CODEOCEAN_TOKEN: TEST_TOKEN,
    AUDIT_HMAC_KEY: TEST_HMAC_KEY,
    ...env
  }, 60_000)
  if (ran.code !== 0) throw new Error(`the app did not build (${ran.code}): ${ran.stderr}`)
  return JSON.parse(ran.stdout) as Loaded
}

t.test('on SQLite without Redis, neither pg nor ioredis is loaded; each is, where configured', async (t) => {
  const directory = await mkdtemp(join(tmpdir(), 'codeocean-proxy-drivers-'))
  t.teardown(() => rm(directory, { recursive: true, force: true }))
  const swaggerUi = { swaggerUi: false, nodeFetch: false, swaggerUiOnVisit: true }
  t.same(await loadedDrivers({ AUDIT_DB_PATH: join(directory, 'proxy.sqlite') }), { pg: false, ioredis: false, ...swaggerUi })
  t.same(await loadedDrivers({ AUDIT_DB_PATH: join(directory, 'proxy.sqlite'), REDIS_URL }), { pg: false, ioredis: true, ...swaggerUi })
  const { url } = await postgresSchema(t)
  t.same(await loadedDrivers({ DATABASE_URL: url }), { pg: true, ioredis: false, ...swaggerUi })
})
