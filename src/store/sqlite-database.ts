// The default store's database work: one SQLite file (better-sqlite3, synchronous), in WAL mode,
// created on first open and migrated, then the slices (sqlite/*.ts), one module per table, over
// that one connection. It runs in a worker thread of its own (sqlite.ts, sqlite-worker.ts), so a
// locked or slow disk never stalls the event loop.
import { closeSync, mkdirSync, openSync, realpathSync, statSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import { MIGRATIONS_TABLE, pendingMigrations } from './migrations.js'
import { sqliteAuditStore } from './sqlite/audit.js'
import { guarded } from './sqlite/guarded.js'
import { sqliteIdempotencyStore } from './sqlite/idempotency.js'
import { sqliteKeyStore } from './sqlite/keys.js'
import { sqliteOwnershipStore } from './sqlite/ownership.js'
import { StoreError, type SqliteStore } from './store.js'

/** The store as the worker thread holds it: with the one thing only it does, committing calls together. */
export interface SqliteDatabase extends SqliteStore {
  /**
   * Runs `writes` (each one call of this store's methods, whose database work is done before it
   * first awaits) in one IMMEDIATE transaction, committed once: one fsync for them all. Each
   * answer is its call's own: a call that fails alone is rolled back alone (its savepoint, or
   * its one statement). When the transaction cannot begin or commit, or a call's failure rolled
   * the whole of it back, every call fails, and the calls after that failure are not run at all.
   * Answers 'locked' when another connection held the write lock for all of the busy timeout
   * (see openSqliteDatabase), and then nothing was run; on the last try (`lastTry`), every call
   * fails instead. The worker opens its database with no busy timeout and waits for the lock
   * itself, between its turns, so that reads go on meanwhile.
   */
  commitTogetherUnlessLocked (writes: ReadonlyArray<() => Promise<unknown>>, lastTry: boolean): Array<Promise<unknown>> | 'locked'
  /**
   * Throws a StoreError when the database file or its write-ahead log is no longer the one
   * opened: deleted or replaced under the running proxy. SQLite goes on writing to the open
   * files, which nobody can read after the process ends, so writes must stop instead.
   */
  checkFiles (): void
}

/** A file as the path names it now (device and inode), or undefined when the path names none. */
function fileAt (path: string): string | undefined {
  // Other failures (a folder made unreadable, a symbolic link loop) are the store's, as StoreErrors.
  const stats = guarded(`check ${path}`, () => statSync(path, { throwIfNoEntry: false }))
  return stats === undefined ? undefined : `${stats.dev}:${stats.ino}`
}

/** Whether a store failure was another connection's write lock (SQLITE_BUSY): then nothing of it ran. */
function isLocked (error: unknown): boolean {
  return (Object(Object(error).cause) as { code?: unknown }).code === 'SQLITE_BUSY'
}

/** How long a write waits for another connection's write lock (a backup, an operator's sqlite3) before it fails. */
export const LOCK_WAIT_MS = 5_000

export interface SqliteOptions {
  /**
   * How long a statement waits for another connection's lock before it fails with SQLITE_BUSY,
   * once the file is open and migrated (which waits LOCK_WAIT_MS whatever this says). Default
   * LOCK_WAIT_MS; the worker says 0.
   */
  busyTimeoutMs?: number
}

export function openSqliteDatabase (path: string, options: SqliteOptions = {}): SqliteDatabase {
  const db = guarded('open', () => {
    if (path !== ':memory:') {
      // Owner-only: the trail names callers and computations, and the file holds key hashes.
      // A folder made here is 0700; the file is made 0600 before SQLite opens it, and SQLite
      // gives its -wal and -shm files the database file's permissions.
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
      closeSync(openSync(path, 'a', 0o600))
    }
    const database = new Database(path)
    database.pragma('journal_mode = WAL')
    // Durable on commit: a record the proxy acted on must survive a crash of the machine.
    database.pragma('synchronous = FULL')
    database.pragma(`busy_timeout = ${LOCK_WAIT_MS}`)
    return database
  })

  guarded('migrate', () => {
    db.exec(MIGRATIONS_TABLE)
    // IMMEDIATE takes the write lock first, so two processes opening one file migrate in turn.
    db.transaction(() => {
      const applied = new Set((db.prepare('SELECT version FROM schema_migrations').all() as Array<{ version: number }>).map((row) => row.version))
      for (const migration of pendingMigrations(applied)) {
        for (const statement of migration.statements) db.exec(statement)
        db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)')
          .run(migration.version, migration.name, new Date().toISOString())
      }
    }).immediate()
  })

  if (options.busyTimeoutMs !== undefined) db.pragma(`busy_timeout = ${options.busyTimeoutMs}`)

  // The file and its write-ahead log (there once the file is migrated, for as long as it is open).
  // SQLite follows a symbolic link to the file and keeps its log beside the file it names, so the
  // log is looked for there.
  const opened = path === ':memory:' ? [] : [path, `${guarded('resolve the path', () => realpathSync(path))}-wal`].map((file) => ({ file, identity: fileAt(file) }))
  const checkFiles = (): void => {
    for (const { file, identity } of opened) {
      if (fileAt(file) !== identity) {
        throw new StoreError(`SQLite store: ${file} was deleted or replaced after it was opened; restart the proxy`, {
          cause: new Error(`${file} is not the file opened`)
        })
      }
    }
  }

  // Runs each call while the transaction lasts: a failure that rolls back the whole of it (not
  // just its own savepoint) leaves the calls after it unrun, and nothing to commit.
  const together = db.transaction((writes: ReadonlyArray<() => Promise<unknown>>, answers: Array<Promise<unknown>>) => {
    for (const write of writes) {
      if (!db.inTransaction) break
      answers.push(write())
    }
    if (!db.inTransaction) throw new Error('a write of the group rolled back its transaction')
  })

  const commit = (writes: ReadonlyArray<() => Promise<unknown>>, reportLocked: boolean): Array<Promise<unknown>> | 'locked' => {
    const answers: Array<Promise<unknown>> = []
    try {
      checkFiles()
      guarded('commit a group of writes', () => { together.immediate(writes, answers) })
      return answers
    } catch (error) {
      // BEGIN IMMEDIATE found the write lock taken: nothing of the group was run.
      if (reportLocked && answers.length === 0 && isLocked(error)) return 'locked'
      // Nothing was committed: a call that failed says why itself, every other one gets this.
      return writes.map(async (_write, index) => {
        await answers[index]
        throw error
      })
    }
  }

  return {
    kind: 'sqlite',
    checkFiles,
    commitTogetherUnlessLocked: (writes, lastTry) => commit(writes, !lastTry),
    ...sqliteAuditStore(db),
    ...sqliteKeyStore(db),
    ...sqliteOwnershipStore(db),
    ...sqliteIdempotencyStore(db),
    async ping () {
      checkFiles()
      guarded('ping', () => db.prepare('SELECT 1').get())
    },
    async dataVersion () {
      return guarded('dataVersion', () => db.pragma('data_version', { simple: true }) as number)
    },
    async close () {
      if (db.open) db.close()
    }
  }
}
