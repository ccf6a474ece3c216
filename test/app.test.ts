// buildApp's options: a dispatcher passed in is used and left open; a default logger is made; the
// files the configuration names are all checked before anything is made.
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { Agent } from 'undici'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { ConfigError } from '../src/errors.js'
import { openSqliteDatabase } from '../src/store/sqlite-database.js'
import { createServiceKey } from '../src/identity/service-keys.js'
import type { Store } from '../src/store/store.js'
import { DEFAULT_TEST_ENV, DEFAULT_CALLER, NO_LOAD_SHEDDING_ENV } from './helpers/app.js'
import { TEST_TOKEN } from './helpers/secrets.js'
import { startTestSimulator } from './helpers/simulator.js'

t.test('a dispatcher passed in carries the calls and stays open after close; the configured store is opened and closed', async (t) => {
  const simulator = await startTestSimulator(t)
  const agent = new Agent()
  t.teardown(() => agent.close())
  const directory = await mkdtemp(join(tmpdir(), 'codeocean-proxy-app-'))
  t.teardown(() => rm(directory, { recursive: true, force: true }))
  const databasePath = join(directory, 'audit', 'trail.sqlite')
  const app = await buildApp({
    config: loadConfig({ CODEOCEAN_DOMAIN: simulator.url, CODEOCEAN_TOKEN: TEST_TOKEN, LOG_LEVEL: 'silent', AUDIT_DB_PATH: databasePath, ...DEFAULT_TEST_ENV }),
    dispatcher: agent
  })
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  const response = await app.inject({ method: 'GET', url: `/api/v1/computations/${computation.id}`, headers: DEFAULT_CALLER })
  t.equal(response.statusCode, 200)
  await app.close()
  t.notOk(agent.closed, 'the caller\'s dispatcher is still open')
  const direct = await agent.request({ origin: simulator.url, path: '/api/v1/computations/x', method: 'GET' })
  await direct.body.dump()
  t.equal(direct.statusCode, 401, 'and usable')
  const trail = openSqliteDatabase(databasePath)
  t.teardown(() => trail.close())
  const [instance] = await trail.chainInstances()
  t.same((await trail.readChain(String(instance), 0, 10)).map((row) => row.stage), ['completed'], 'the read was audited in the configured file, in one record')
})

t.test('every file the configuration names is checked before start-up stops, and nothing is made', async (t) => {
  const directory = await mkdtemp(join(tmpdir(), 'codeocean-proxy-app-'))
  t.teardown(() => rm(directory, { recursive: true, force: true }))
  const absent = join(directory, 'absent')
  const config = loadConfig({
    CODEOCEAN_DOMAIN: 'https://codeocean.example.com',
    CODEOCEAN_TOKEN_FILE: join(absent, 'token'),
    CODEOCEAN_CA_FILE: join(absent, 'ca.pem'),
    AUDIT_HMAC_KEY_FILE: join(absent, 'audit.key'),
    GATEWAY_JWT_HEADER: 'X-Gateway-Assertion',
    GATEWAY_PUBLIC_KEY_FILE: join(absent, 'gateway.pem'),
    GATEWAY_JWT_ISSUER: 'https://gateway.example.com',
    GATEWAY_JWT_AUDIENCE: 'codeocean-proxy',
    AUDIT_DB_PATH: join(directory, 'data', 'proxy.sqlite')
  })
  await t.rejects(buildApp({ config }), new ConfigError([
    `CODEOCEAN_CA_FILE ${join(absent, 'ca.pem')} cannot be read: ENOENT`,
    'the file named by CODEOCEAN_TOKEN_FILE cannot be read (ENOENT): check the path',
    `GATEWAY_PUBLIC_KEY_FILE ${join(absent, 'gateway.pem')} cannot be read: ENOENT`,
    'the file named by AUDIT_HMAC_KEY_FILE cannot be read (ENOENT): check the path'
  ]))
  // Without a key file, a SQLite-backed proxy generates its key beside the database: not now.
  const keyless = loadConfig({ CODEOCEAN_DOMAIN: 'https://codeocean.example.com', CODEOCEAN_TOKEN_FILE: join(absent, 'token'), AUDIT_DB_PATH: join(directory, 'data', 'proxy.sqlite') })
  await t.rejects(buildApp({ config: keyless }), new ConfigError(['the file named by CODEOCEAN_TOKEN_FILE cannot be read (ENOENT): check the path']))
  t.same(await readdir(directory), [], 'no audit key is generated, and no database made, while anything else is wrong')
})

t.test('an app built for the demo takes the demo\'s keys and refuses the proxy\'s', async (t) => {
  const simulator = await startTestSimulator(t)
  const store = openSqliteDatabase(':memory:')
  t.teardown(() => store.close())
  const app = await buildApp({
    config: loadConfig({ CODEOCEAN_DOMAIN: simulator.url, CODEOCEAN_TOKEN: TEST_TOKEN, LOG_LEVEL: 'silent', AUDIT_DB_PATH: ':memory:', ...NO_LOAD_SHEDDING_ENV }),
    store,
    serviceKeyRealm: 'demo'
  })
  t.teardown(() => app.close())
  const demo = await createServiceKey(store, { subject: 'demo-user', groups: ['demo'], realm: 'demo' })
  const proxy = await createServiceKey(store, { subject: 'ci', groups: [] })
  const run = async (key: string): Promise<number> => (await app.inject({
    method: 'POST', url: '/api/v1/computations', headers: { authorization: `Bearer ${key}` }, payload: { capsule_id: simulator.capsules.analysis }
  })).statusCode
  t.equal(await run(demo.key), 200)
  t.equal(await run(proxy.key), 401)
  t.equal(simulator.requests.length, 1, 'only the demo key\'s run reached Code Ocean')
})

t.test('a credential check that fails without an error refuses the call, and nothing is forwarded', async (t) => {
  const simulator = await startTestSimulator(t)
  const inner = openSqliteDatabase(':memory:')
  t.teardown(() => inner.close())
  const { key } = await createServiceKey(inner, { subject: 'ci', groups: [] })
  // A store whose key lookup rejects with no value at all (a driver bug, say).
  const store: Store = { ...inner, findServiceKey: async () => await Promise.reject(undefined) }
  const app = await buildApp({ config: loadConfig({ CODEOCEAN_DOMAIN: simulator.url, CODEOCEAN_TOKEN: TEST_TOKEN, LOG_LEVEL: 'silent', AUDIT_DB_PATH: ':memory:', ...NO_LOAD_SHEDDING_ENV }), store })
  t.teardown(() => app.close())
  const response = await app.inject({ method: 'POST', url: '/api/v1/computations', headers: { authorization: `Bearer ${key}` }, payload: { capsule_id: simulator.capsules.analysis } })
  t.equal(response.statusCode, 500)
  t.match(JSON.parse(response.body), { message: String })
  // Refused where a failed check is, before the body is read: an invalid one gets no 400.
  const invalid = await app.inject({ method: 'POST', url: '/api/v1/computations', headers: { authorization: `Bearer ${key}` }, payload: { capsule_id: 5 } })
  t.equal(invalid.statusCode, 500)
  t.equal(simulator.requests.length, 0, 'nothing reached Code Ocean')
})
