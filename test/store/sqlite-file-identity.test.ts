// A SQLite file deleted or replaced under the running proxy: SQLite would go on writing to the
// files it holds open, which nobody can read once the process ends, so every record written then
// would be lost without a word. The store notices that the path no longer names the files it
// opened: its writes fail, its ping fails (/readyz red), and changes are refused with 503 rather
// than forwarded without a record anyone will ever read.
import { closeSync, copyFileSync, openSync, renameSync, rmSync, symlinkSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { openSqliteDatabase, type SqliteDatabase } from '../../src/store/sqlite-database.js'
import { openSqliteStore } from '../../src/store/sqlite.js'
import { StoreError } from '../../src/store/store.js'
import { buildTestApp } from '../helpers/app.js'
import { startTestSimulator } from '../helpers/simulator.js'
import { ownerRow } from '../helpers/stores.js'

async function folder (t: Test): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'codeocean-proxy-file-identity-'))
  t.teardown(() => rm(directory, { recursive: true, force: true }))
  return directory
}

async function database (t: Test): Promise<{ path: string, db: SqliteDatabase }> {
  const path = join(await folder(t), 'audit.sqlite')
  const db = openSqliteDatabase(path)
  t.teardown(() => db.close())
  return { path, db }
}

const GONE = /audit\.sqlite(-wal)? was deleted or replaced after it was opened; restart the proxy/

t.test('while its files are the ones opened, writes and pings go through', async (t) => {
  const { db } = await database(t)
  t.doesNotThrow(() => { db.checkFiles() })
  await db.ping()
  await Promise.all(db.commitTogetherUnlessLocked([async () => { await db.recordOwner(ownerRow('c-1')) }], true) as Array<Promise<unknown>>)
  t.equal((await db.ownersOf(['c-1'])).size, 1)
})

t.test('a deleted database file fails every write and the ping, naming the file', async (t) => {
  const { path, db } = await database(t)
  rmSync(path)
  t.throws(() => { db.checkFiles() }, GONE)
  await t.rejects(db.ping(), StoreError)
  const results = await Promise.allSettled(db.commitTogetherUnlessLocked([async () => { await db.recordOwner(ownerRow('c-1')) }, async () => { await db.recordOwner(ownerRow('c-2')) }], true) as Array<Promise<unknown>>)
  t.same(results.map((result) => result.status), ['rejected', 'rejected'])
  t.match((results[0] as PromiseRejectedResult).reason, { message: GONE })
})

t.test('a deleted write-ahead log, or a file replaced by a copy, is noticed too', async (t) => {
  const { path, db } = await database(t)
  rmSync(`${path}-wal`)
  t.throws(() => { db.checkFiles() }, /audit\.sqlite-wal was deleted or replaced/)

  const other = await database(t)
  copyFileSync(other.path, `${other.path}.copy`)
  renameSync(`${other.path}.copy`, other.path)
  t.throws(() => { other.db.checkFiles() }, /audit\.sqlite was deleted or replaced/)
})

t.test('opened through a symbolic link, the write-ahead log beside the file it names is the one watched', async (t) => {
  // SQLite follows the link and keeps its log beside the real file: a log looked for beside the
  // link would never be there, and a deleted real log would go unnoticed.
  const directory = await folder(t)
  const real = join(directory, 'audit.sqlite')
  closeSync(openSync(real, 'a', 0o600))
  const link = join(directory, 'link.sqlite')
  symlinkSync(real, link)
  const db = openSqliteDatabase(link)
  t.teardown(() => db.close())
  t.doesNotThrow(() => { db.checkFiles() })
  rmSync(`${real}-wal`)
  t.throws(() => { db.checkFiles() }, /audit\.sqlite-wal was deleted or replaced/)
  const [result] = await Promise.allSettled(db.commitTogetherUnlessLocked([async () => { await db.recordOwner(ownerRow('c-1')) }], true) as Array<Promise<unknown>>)
  t.match(result, { status: 'rejected', reason: { message: GONE } }, 'and writes fail')
})

t.test('an in-memory database has no file to lose', async (t) => {
  const db = openSqliteDatabase(':memory:')
  t.teardown(() => db.close())
  t.doesNotThrow(() => { db.checkFiles() })
})

t.test('through the proxy: after the file is deleted, changes get 503 and are not forwarded, and /readyz is red', async (t) => {
  const path = join(await folder(t), 'audit.sqlite')
  const store = await openSqliteStore(path)
  t.teardown(() => store.close())
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, {}, { store })
  const { id } = simulator.addComputation({ capsule_id: simulator.capsules.analysis, state: 'running' })
  const rename = async (name: string) => await proxy.inject({ method: 'PATCH', url: `/api/v1/computations/${id}?name=${name}` })
  t.equal((await rename('before')).statusCode, 204)

  for (const file of [path, `${path}-wal`, `${path}-shm`]) rmSync(file, { force: true })
  const refused = await rename('after')
  t.equal(refused.statusCode, 503)
  t.equal(refused.json().code, 'PROXY_AUDIT_UNAVAILABLE')
  t.equal(simulator.requests.filter((request) => request.method === 'PATCH').length, 1, 'nothing forwarded without a record that can be read')
  const ready = await proxy.inject({ method: 'GET', url: '/readyz' }, null)
  t.equal(ready.statusCode, 503)
  t.match(ready.json(), { checks: { store: { ok: false } } })
  t.ok(proxy.log.lines().some((line) => typeof line.err === 'object' && GONE.test(JSON.stringify(line.err))), 'the log says which file went')
})
