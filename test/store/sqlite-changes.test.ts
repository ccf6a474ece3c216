// With SQLite, a key revoked by the keys command (another process writing the file) is dropped
// within a tenth of a second by a proxy that read it a moment ago, not within SERVICE_KEY_CACHE_MS:
// the file's data version tells the proxy that someone else wrote to it.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import t, { type Test } from 'tap'
import { runKeysCommand } from '../../src/cli/keys.js'
import { Unauthenticated } from '../../src/errors.js'
import { createServiceKey, ServiceKeys } from '../../src/identity/service-keys.js'
import { watchForeignWrites } from '../../src/store/sqlite-changes.js'
import { openSqliteDatabase } from '../../src/store/sqlite-database.js'
import { openSqliteStore } from '../../src/store/sqlite.js'
import type { SqliteStore } from '../../src/store/store.js'
import { buildTestApp, type TestApp } from '../helpers/app.js'
import { parsePrometheusText, sampleValue } from '../helpers/prometheus.js'
import { startTestSimulator } from '../helpers/simulator.js'

async function databaseFile (t: Test): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'codeocean-proxy-changes-'))
  t.teardown(() => rm(directory, { recursive: true, force: true }))
  return join(directory, 'proxy.sqlite')
}

/** Waits, a bounded while, for `check` to hold. */
async function until (what: string, check: () => Promise<boolean> | boolean): Promise<void> {
  for (let wait = 0; wait < 1000; wait++) {
    if (await check()) return
    await sleep(10)
  }
  throw new Error(`${what} did not happen within 10 s`)
}

/** The keys command, run as an operator runs it, against the file at `path`. */
async function keysCommand (path: string, ...args: string[]): Promise<number> {
  return await runKeysCommand(args, { stdout: { write: () => true }, stderr: { write: () => true }, env: { AUDIT_DB_PATH: path } })
}

t.test('the data version moves for another connection\'s writes, never for the store\'s own', async (t) => {
  const path = await databaseFile(t)
  const store = await openSqliteStore(path)
  t.teardown(() => store.close())
  const before = await store.dataVersion()
  const { row } = await createServiceKey(store, { subject: 'ci', groups: [] })
  await store.touchServiceKey(row.keyId, new Date().toISOString())
  t.equal(await store.dataVersion(), before, 'its own writes leave it as it was')
  const other = openSqliteDatabase(path)
  await other.revokeServiceKey(row.keyId, new Date().toISOString())
  await other.close()
  t.not(await store.dataVersion(), before, 'another connection\'s commit moves it')
})

t.test('a key revoked by the keys command is refused at once by a proxy that read it a moment ago', async (t) => {
  const path = await databaseFile(t)
  const store = await openSqliteStore(path)
  t.teardown(() => store.close())
  const { key, row } = await createServiceKey(store, { subject: 'ci', groups: [] })
  // A clock that never moves: only the watch can make the held row go.
  const keys = new ServiceKeys(store, { cacheMs: 1000, now: () => Date.parse('2026-12-07T12:00:00.000Z') })
  let changes = 0
  const errors: Error[] = []
  const watch = watchForeignWrites(store, { intervalMs: 10, onChange: () => { changes++; keys.forgetAll() }, onError: (error) => { errors.push(error) } })
  t.teardown(() => { watch.close() })
  await watch.started
  t.equal((await keys.authenticate(key)).keyId, row.keyId, 'read and held')

  t.equal(await keysCommand(path, 'revoke', row.keyId), 0)
  await until('the write to be noticed', () => changes > 0)
  await t.rejects(keys.authenticate(key), new Unauthenticated('The service key has been revoked.'))
  t.same(errors, [])

  // A store that stops answering is reported, and a closed watch says nothing more.
  await store.close()
  await until('the failed read to be reported', () => errors.length > 0)
  watch.close()
  const reported = errors.length
  await sleep(50)
  t.equal(errors.length, reported, 'nothing after close')
})

/** An app on a SQLite file, as the server opens it; and how many writes by others it has noticed. */
async function appOnFile (t: Test, cacheMs: string): Promise<{ proxy: TestApp, store: SqliteStore, path: string, simulator: Awaited<ReturnType<typeof startTestSimulator>>, heard: () => Promise<number> }> {
  const simulator = await startTestSimulator(t)
  const path = await databaseFile(t)
  const store = await openSqliteStore(path)
  t.teardown(() => store.close())
  const proxy = await buildTestApp(t, simulator.url, { AUDIT_DB_PATH: path, SERVICE_KEY_CACHE_MS: cacheMs }, { store })
  const heard = async (): Promise<number> => {
    const metrics = await proxy.inject({ method: 'GET', url: '/metrics' }, null)
    return sampleValue(parsePrometheusText(metrics.body), 'codeocean_proxy_store_foreign_writes_heard_total') ?? Number.NaN
  }
  return { proxy, store, path, simulator, heard }
}

t.test('an app on SQLite drops a key revoked by the keys command as soon as it notices, and counts it', async (t) => {
  const { proxy, store, path, simulator, heard } = await appOnFile(t, '1000')
  const { key, row } = await createServiceKey(store, { subject: 'ci', groups: ['proxy-admins'] })
  const computation = `/api/v1/computations/${simulator.addComputation({ capsule_id: simulator.capsules.analysis }).id}`
  t.equal((await proxy.inject({ method: 'GET', url: computation, headers: { authorization: `Bearer ${key}` } }, null)).statusCode, 200, 'the key is read, and held')
  t.equal(await heard(), 0, 'the proxy\'s own writes (its audit records, the key\'s last use) are not counted')
  t.equal(await keysCommand(path, 'revoke', row.keyId), 0)
  await until('the write to be noticed', async () => await heard() === 1)
  t.equal((await proxy.inject({ method: 'GET', url: computation, headers: { authorization: `Bearer ${key}` } }, null)).statusCode, 401, 'refused once noticed')

  // A file that can no longer be read: the operator is warned, and the cache's bound still holds.
  await store.close()
  await until('the warning', () => proxy.log.lines().some((line) => String(line.msg).startsWith('reading whether another process wrote to the SQLite file failed')))
})

t.test('with SERVICE_KEY_CACHE_MS=0 an app on SQLite holds nothing, and does not watch', async (t) => {
  const { path, heard } = await appOnFile(t, '0')
  t.equal(await keysCommand(path, 'create', '--subject', 'ci', '--groups', 'proxy-admins'), 0)
  await sleep(300)
  t.equal(await heard(), 0)
})

t.test('an app handed a store that cannot tell of other processes\' writes runs without the watch, its key rows bound by the cache alone', async (t) => {
  const simulator = await startTestSimulator(t)
  const { dataVersion, ...plain } = openSqliteDatabase(':memory:')
  t.teardown(() => plain.close())
  t.type(dataVersion, 'function', 'the store it came from could tell')
  const proxy = await buildTestApp(t, simulator.url, { SERVICE_KEY_CACHE_MS: '1000' }, { store: plain })
  const { key } = await createServiceKey(plain, { subject: 'ci', groups: ['proxy-admins'] })
  const computation = `/api/v1/computations/${simulator.addComputation({ capsule_id: simulator.capsules.analysis }).id}`
  t.equal((await proxy.inject({ method: 'GET', url: computation, headers: { authorization: `Bearer ${key}` } }, null)).statusCode, 200)
  const metrics = await proxy.inject({ method: 'GET', url: '/metrics' }, null)
  t.equal(sampleValue(parsePrometheusText(metrics.body), 'codeocean_proxy_store_foreign_writes_heard_total'), 0)
})
