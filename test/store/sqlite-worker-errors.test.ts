// A failure in the SQLite worker is answered to its caller as a StoreError, and the worker goes
// on: a row someone with write access to the file broke (a key's groups that are not JSON) fails
// the lookups that read it, not the store; a path it cannot check (a symbolic link loop where its
// folder was) fails the writes and the ping until it can again; and whatever is thrown, it is
// answered, never allowed to stop the thread.
import { renameSync, symlinkSync } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import t from 'tap'
import type { AuditQuery } from '../../src/store/audit-store.js'
import { serializedError } from '../../src/store/serialized-error.js'
import { openSqliteStore } from '../../src/store/sqlite.js'
import { StoreError } from '../../src/store/store.js'
import { ownerRow } from '../helpers/stores.js'


t.test('a key row whose groups are not JSON fails its lookup, and the store goes on', async (t) => {
  const directory = await mkdtemp(join(tmpdir(), 'codeocean-proxy-worker-errors-'))
  t.teardown(() => rm(directory, { recursive: true, force: true }))
  const path = join(directory, 'proxy.sqlite')
  const store = await openSqliteStore(path)
  t.teardown(() => store.close())
  await store.createServiceKey({
    keyId: 'broken', subject: 'key:ci', groups: ['team-a'], description: null, secretHash: 'h', createdAt: '2026-12-07T10:00:00.000Z', expiresAt: null, revokedAt: null, lastUsedAt: null, realm: 'proxy'
  })
  const other = new Database(path)
  other.prepare("UPDATE service_keys SET groups_json = '[not json' WHERE key_id = 'broken'").run()
  other.close()

  await t.rejects(store.findServiceKey('broken'), { name: 'StoreError', message: 'SQLite store: find a service key failed', cause: { name: 'SyntaxError' } })
  await t.rejects(store.findServiceKey('broken'), StoreError, 'and again: the worker is still there to answer')
  t.equal(await store.findServiceKey('missing'), undefined)
  await store.recordOwner(ownerRow('c-1', 'key:ci'))
  t.same([...(await store.ownersOf(['c-1'])).keys()], ['c-1'], 'writes go on too')
})

t.test('a path the store cannot check fails writes and the ping, not the worker, and the store heals when the path is back', async (t) => {
  const directory = await mkdtemp(join(tmpdir(), 'codeocean-proxy-worker-errors-'))
  t.teardown(() => rm(directory, { recursive: true, force: true }))
  const folder = join(directory, 'data')
  await mkdir(folder)
  const store = await openSqliteStore(join(folder, 'proxy.sqlite'))
  t.teardown(() => store.close())
  await store.recordOwner(ownerRow('c-1', 'key:ci'))

  // The folder moved away, and a symbolic link to itself in its place: looking up the file fails
  // with ELOOP (as it would with EACCES for a folder made unreadable), not with "no such file".
  renameSync(folder, `${folder}.moved`)
  symlinkSync(folder, folder)
  await t.rejects(store.recordOwner(ownerRow('c-2', 'key:ci')), { name: 'StoreError', cause: { code: 'ELOOP' } }, 'a write fails as a StoreError')
  await t.rejects(store.ping(), { name: 'StoreError', cause: { code: 'ELOOP' } }, 'and so does the ping (/readyz red)')
  t.same([...(await store.ownersOf(['c-1'])).keys()], ['c-1'], 'the worker still answers reads from the file it holds open')

  await rm(folder)
  renameSync(`${folder}.moved`, folder)
  await store.recordOwner(ownerRow('c-2', 'key:ci'))
  await store.ping()
  t.same([...(await store.ownersOf(['c-1', 'c-2'])).keys()].sort(), ['c-1', 'c-2'], 'once the path names the same files again, writes go through')
})

t.test('an operation that fails before it reaches the database is answered as a StoreError, and the worker goes on', async (t) => {
  const directory = await mkdtemp(join(tmpdir(), 'codeocean-proxy-worker-errors-'))
  t.teardown(() => rm(directory, { recursive: true, force: true }))
  const store = await openSqliteStore(join(directory, 'proxy.sqlite'))
  t.teardown(() => store.close())
  await t.rejects(store.queryAudit({ after: null, limit: 10 } as unknown as AuditQuery), { name: 'StoreError', message: 'SQLite store: query failed', cause: { name: 'TypeError' } })
  t.same(await store.queryAudit({ limit: 10 }), [], 'the next query is answered')
})

t.test('whatever is thrown becomes a message the opening thread can read, without throwing itself', async (t) => {
  t.same(serializedError(new StoreError('SQLite store: x failed', { cause: Object.assign(new Error('busy'), { code: 'SQLITE_BUSY' }) })),
    { message: 'SQLite store: x failed', cause: { name: 'Error', message: 'busy', code: 'SQLITE_BUSY' } })
  t.same(serializedError(new TypeError('no cause')), { message: 'no cause' })
  t.same(serializedError('a string'), { message: 'a string' })
  t.same(serializedError(undefined), { message: 'undefined' })
  t.same(serializedError(Object.assign(new Error('odd cause'), { cause: 'text' })), { message: 'odd cause' })
})
