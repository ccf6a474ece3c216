// The worker thread that owns the SQLite database (sqlite-database.ts): it opens the file, tells
// the opening thread how that went, then runs each call sent over its port, one at a time, and
// answers with the value or the error. better-sqlite3 is synchronous, so a write lock held by
// another process (a backup, an operator's sqlite3 session) or a slow fsync blocks this thread,
// never the event loop that serves requests and health checks.
import { workerData, type MessagePort } from 'node:worker_threads'
import { openSqliteDatabase } from './sqlite-database.js'
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

function serve ({ path, port }: SqliteWorkerData): void {
  let store: SqliteStore | undefined
  try {
    store = openSqliteDatabase(path)
    port.postMessage({})
  } catch (error) {
    port.postMessage({ error: serializedError(error) })
  }
  if (store === undefined) {
    port.close()
    return
  }
  const database = store
  port.on('message', ({ id, method, args }: SqliteCall) => {
    if (method === 'close') {
      // The opening thread waits for this thread to exit: then the file is closed.
      void database.close().finally(() => process.exit(0))
      return
    }
    // Every method runs its database work synchronously before its first await: calls never interleave.
    const run = database[method] as (...values: unknown[]) => Promise<unknown>
    run.apply(database, args).then(
      (value) => { port.postMessage({ id, value } satisfies SqliteAnswer) },
      (error: unknown) => { port.postMessage({ id, error: serializedError(error) } satisfies SqliteAnswer) }
    )
  })
}

serve(workerData as SqliteWorkerData)
