// The SQLite store's worker commits the writes that reach it together in one transaction: one
// fsync for a batch of audit records, owners and idempotency keys, not one each. A write that
// fails alone fails alone; one that rolls the whole transaction back fails them all, and none of
// them is committed. Commits are counted in the write-ahead log, where each ends with a frame
// marked as a commit. The worker is made to gather the writes: a second connection holds the
// write lock while they are sent (as a backup or an operator's sqlite3 might), and a write that
// is never grouped (a new service key) goes first, so the worker waits for the lock on it alone
// while the others queue behind it.
import { readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import t, { type Test } from 'tap'
import type { AuditRow } from '../../src/store/audit-store.js'
import { openSqliteStore } from '../../src/store/sqlite.js'
import type { SqliteStore } from '../../src/store/store.js'
import { ownerRow } from '../helpers/stores.js'

/** Commit frames in the write-ahead log: one per transaction committed since it was last reset. */
function commitsIn (path: string): number {
  const wal = readFileSync(`${path}-wal`)
  const pageSize = wal.readUInt32BE(8)
  let commits = 0
  for (let frame = 32; frame + 24 + pageSize <= wal.length; frame += 24 + pageSize) {
    // A commit frame records the database's size in pages after the commit; others hold 0.
    if (wal.readUInt32BE(frame + 4) !== 0) commits++
  }
  return commits
}

function auditRow (seq: number, hash = `hash-${seq}`): AuditRow {
  return {
    instanceId: 'grouped',
    seq,
    auditId: `audit-${seq}`,
    stage: 'received',
    recordedAt: '2026-12-07T10:00:00.000Z',
    body: JSON.stringify({ seq }),
    prevHash: `hash-${seq - 1}`,
    hash,
    action: 'runCapsule',
    computationId: null,
    capsuleId: 'capsule-1',
    pipelineId: null,
    status: null,
    actor: 'alice',
    resumeRunId: null
  }
}

interface Opened {
  path: string
  store: SqliteStore
  /** Another connection to the same file, as an operator's sqlite3 would be. */
  other: Database.Database
}

async function opened (t: Test): Promise<Opened> {
  const directory = await mkdtemp(join(tmpdir(), 'codeocean-proxy-group-commit-'))
  t.teardown(() => rm(directory, { recursive: true, force: true }))
  const path = join(directory, 'proxy.sqlite')
  const store = await openSqliteStore(path)
  const other = new Database(path)
  t.teardown(async () => {
    other.close()
    await store.close()
  })
  return { path, store, other }
}

let plugs = 0

/**
 * Sends a new service key then `writes` while `other` holds the write lock, then lets go: the
 * worker waits for the lock on the key while `writes` queue up behind it. Settles each write.
 */
async function sendWhileLocked ({ store, other }: Opened, writes: () => Array<Promise<unknown>>): Promise<Array<PromiseSettledResult<unknown>>> {
  other.exec('BEGIN IMMEDIATE')
  const plug = store.createServiceKey({
    keyId: `plug${++plugs}`, subject: 'key:plug', groups: [], description: null, secretHash: 'h', createdAt: '2026-12-07T10:00:00.000Z', expiresAt: null, revokedAt: null, lastUsedAt: null, realm: 'proxy'
  })
  const sent = writes()
  other.exec('COMMIT')
  await plug
  return await Promise.allSettled(sent)
}

t.test('writes that reach the worker together share one commit', async (t) => {
  const database = await opened(t)
  const { path, store } = database
  const before = commitsIn(path)
  const outcomes = await sendWhileLocked(database, () => [
    store.appendAudit([auditRow(1)]),
    store.recordOwner(ownerRow('c-1')),
    store.appendAudit([auditRow(2), auditRow(3)]),
    store.recordOwner(ownerRow('c-2')),
    store.recordOwner(ownerRow('c-3')),
    store.appendAudit([auditRow(4)])
  ])
  t.same(outcomes.map((outcome) => outcome.status), Array(6).fill('fulfilled'))
  t.equal(commitsIn(path) - before, 2, 'one commit for the key, one for the six writes')
  t.same((await store.readChain('grouped', 0, 10)).map((row) => row.seq), [1, 2, 3, 4], 'every record is there, in order')
  t.same([...(await store.ownersOf(['c-1', 'c-2', 'c-3'])).keys()].sort(), ['c-1', 'c-2', 'c-3'])
})

t.test('a write that fails on its own fails alone: the others in its commit are kept', async (t) => {
  const database = await opened(t)
  const { path, store } = database
  await store.appendAudit([auditRow(1)])
  const before = commitsIn(path)
  const outcomes = await sendWhileLocked(database, () => [
    store.recordOwner(ownerRow('c-before')),
    // Seq 1 again with another hash: a second writer on the chain, refused.
    store.appendAudit([auditRow(2), auditRow(1, 'another-hash')]),
    store.recordOwner(ownerRow('c-after'))
  ])
  t.same(outcomes.map((outcome) => outcome.status), ['fulfilled', 'rejected', 'fulfilled'])
  t.match((outcomes[1] as PromiseRejectedResult).reason, { name: 'StoreError', message: /append failed/, cause: { message: /already stored with another hash/ } })
  t.same((await store.readChain('grouped', 0, 10)).map((row) => [row.seq, row.hash]), [[1, 'hash-1']], 'the refused batch left nothing, not even its good record')
  t.same([...(await store.ownersOf(['c-before', 'c-after'])).keys()].sort(), ['c-after', 'c-before'])
  t.equal(commitsIn(path) - before, 2, 'one commit for the key, one for the three writes')
})

t.test('a write that rolls the whole transaction back fails every write of it, and none is committed', async (t) => {
  const database = await opened(t)
  const { path, store, other } = database
  // What a failure that ends the transaction does (a full disk, an I/O error), made on purpose.
  other.exec("CREATE TRIGGER poison BEFORE INSERT ON computation_owners WHEN NEW.computation_id = 'c-poisoned' BEGIN SELECT RAISE(ROLLBACK, 'poisoned'); END")
  const before = commitsIn(path)
  const outcomes = await sendWhileLocked(database, () => [
    store.appendAudit([auditRow(1)]),
    store.recordOwner(ownerRow('c-poisoned')),
    store.recordOwner(ownerRow('c-after'))
  ])
  t.same(outcomes.map((outcome) => outcome.status), ['rejected', 'rejected', 'rejected'])
  const [before1, poisoned, after] = outcomes.map((outcome) => (outcome as PromiseRejectedResult).reason as Error)
  const groupFailed = { name: 'StoreError', message: /commit a group of writes failed/, cause: { message: /rolled back its transaction/ } }
  t.match(before1, groupFailed, 'the write before it fails with the group')
  t.match(poisoned, { name: 'StoreError', message: /record an owner failed/, cause: { message: 'poisoned' } }, 'the write that failed says why')
  t.match(after, groupFailed, 'the write after it was not run')
  t.same(await store.readChain('grouped', 0, 10), [], 'the record written before the failure was rolled back with it')
  t.same([...(await store.ownersOf(['c-poisoned', 'c-after'])).keys()], [])
  t.equal(commitsIn(path) - before, 1, 'the key was committed, nothing of the group')
  // The store goes on as before.
  await store.recordOwner(ownerRow('c-later'))
  t.same([...(await store.ownersOf(['c-later'])).keys()], ['c-later'])
})
