// The worker thread that owns the SQLite database (sqlite-database.ts): it opens the file, tells
// the opening thread how that went, then runs the calls sent over its port in the order they came,
// and answers each with its value or its error. better-sqlite3 is synchronous, so a write lock
// held by another process (a backup, an operator's sqlite3 session) or a slow fsync blocks this
// thread, never the event loop that serves requests and health checks.
//
// Group commit: writes of the request path (audit records, owners, idempotency keys) that wait
// one after another in the queue are run in one transaction and committed together: under load,
// one fsync for a run's `received` record, other runs' owners and the reads' `completed`
// records, instead of one each. Writes that came while the last commit ran wait for the next.
import { workerData, type MessagePort } from 'node:worker_threads'
import { returnStartUpMemory } from '../start-up-memory.js'
import { openSqliteDatabase, type SqliteDatabase } from './sqlite-database.js'
import type { SqliteStore } from './store.js'

export interface SqliteWorkerData {
  path: string
  /** The first message on it says how opening went; then it carries calls and answers. */
  port: MessagePort
}

export interface SqliteCall { id: number, method: keyof SqliteStore, args: unknown[] }
export type SqliteAnswer = { id: number, value: unknown } | { id: number, error: SerializedError }
export interface SerializedError { message: string, cause?: { name: string, message: string, code?: unknown } }

/** A StoreError (what every database failure becomes in sqlite-database.ts), as a message can carry it. */
export function serializedError (error: unknown): SerializedError {
  const { message, cause } = error as { message: unknown, cause: { name?: unknown, message?: unknown, code?: unknown } }
  return { message: String(message), cause: { name: String(cause.name), message: String(cause.message), code: cause.code } }
}

/** The writes that may share a commit: the request path's, each idempotent or decided in its own statement. */
const GROUPED: ReadonlySet<SqliteCall['method']> = new Set<SqliteCall['method']>([
  'appendAudit', 'recordOwner', 'touchServiceKey', 'claimIdempotencyKey', 'settleIdempotencyKey', 'releaseIdempotencyKey'
])

function serve ({ path, port }: SqliteWorkerData): void {
  let store: SqliteDatabase | undefined
  try {
    store = openSqliteDatabase(path)
  } catch (error) {
    port.postMessage({ error: serializedError(error) })
  }
  if (store === undefined) {
    port.close()
    return
  }
  // Opening and migrating were this thread's start-up: what they used is returned before the first call.
  returnStartUpMemory()
  port.postMessage({})
  const database = store
  const answer = (id: number, result: Promise<unknown>): void => {
    result.then(
      (value) => { port.postMessage({ id, value } satisfies SqliteAnswer) },
      (error: unknown) => { port.postMessage({ id, error: serializedError(error) } satisfies SqliteAnswer) }
    )
  }
  // Every method runs its database work synchronously before its first await: calls never interleave.
  const start = ({ method, args }: SqliteCall) => () => (database[method] as (...values: unknown[]) => Promise<unknown>).apply(database, args)

  /** A write of the request path that came alone: committed by itself, where the records can still be read later. */
  const writeAlone = async (call: SqliteCall): Promise<unknown> => {
    database.checkFiles()
    return await start(call)()
  }

  // Calls not yet run, in the order they came. Each turn runs the first call alone, or the writes
  // that lead the queue together; what came meanwhile joins the queue for the next turn.
  const arrived: SqliteCall[] = []
  const runNext = (): void => {
    const first = arrived[0] as SqliteCall
    if (first.method === 'close') {
      // The opening thread waits for this thread to exit: then the file is closed. Nothing is sent after close.
      void database.close().finally(() => process.exit(0))
      return
    }
    let end = 1
    if (GROUPED.has(first.method)) while (end < arrived.length && GROUPED.has((arrived[end] as SqliteCall).method)) end++
    const group = arrived.splice(0, end)
    if (group.length > 1) database.commitTogether(group.map(start)).forEach((result, at) => { answer((group[at] as SqliteCall).id, result) })
    else if (GROUPED.has(first.method)) answer(first.id, writeAlone(first))
    else answer(first.id, start(first)())
    if (arrived.length > 0) setImmediate(runNext)
  }
  port.on('message', (call: SqliteCall) => {
    if (arrived.push(call) === 1) setImmediate(runNext)
  })
}

serve(workerData as SqliteWorkerData)
