// A failure of the SQLite worker thread (sqlite-worker.ts) as a message carries it to the thread
// that opened the store (sqlite.ts), which makes it a StoreError again.

export interface SerializedError { message: string, cause?: { name: string, message: string, code?: unknown } }

/**
 * A failure as a message can carry it: a StoreError (what every database failure becomes in
 * sqlite-database.ts) with its cause, or, should anything else be thrown, its message alone (the
 * opening thread then names the operation). Never throws: a failure while answering would stop
 * the worker thread, and with it the store.
 */
export function serializedError (error: unknown): SerializedError {
  const { message, cause } = Object(error) as { message?: unknown, cause?: { name?: unknown, message?: unknown, code?: unknown } }
  const text = String(message ?? error)
  if (!(cause instanceof Object)) return { message: text }
  return { message: text, cause: { name: String(cause.name), message: String(cause.message), code: cause.code } }
}
