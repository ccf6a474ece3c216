// A failure in the SQLite worker is answered to its caller as a StoreError, and the worker goes
// on: a row someone with write access to the file broke (a key's groups that are not JSON) fails
// the lookups that read it, not the store.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import t from 'tap'
import { openSqliteStore } from '../../src/store/sqlite.js'
import { StoreError } from '../../src/store/store.js'

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
  await store.recordOwner({ computationId: 'c-1', subject: 'key:ci', groups: [], capsuleId: 'capsule-1', pipelineId: null, createdAt: '2026-12-07T10:00:00.000Z', namespaced: true })
  t.same([...(await store.ownersOf(['c-1'])).keys()], ['c-1'], 'writes go on too')
})
