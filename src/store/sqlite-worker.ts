// The worker thread that owns the SQLite database (sqlite-database.ts): it opens the file, tells
// the opening thread how that went, then runs the calls sent over its port in the order they came,
// and answers each with its value or its error. better-sqlite3 is synchronous, so a slow fsync
// blocks this thread, never the event loop that serves requests and health checks. A write lock
// held by another process (a backup, an operator's sqlite3 session) does not block it: writes
// wait for the lock between turns (see below), and the reads behind them go ahead meanwhile.
//
// Group commit: writes of the request path (audit records, owners, idempotency keys) that wait
// one after another in the queue are run in one transaction and committed together: under load,
// one fsync for a run's `received` record, other runs' owners and the reads' `completed`
// records, instead of one each. Writes that came while the last commit ran wait for the next.
import { workerData, type MessagePort } from 'node:worker_threads'
import { returnStartUpMemory } from '../start-up-memory.js'
import { serializedError, type SerializedError } from './serialized-error.js'
import { LOCK_WAIT_MS, openSqliteDatabase, type SqliteDatabase } from './sqlite-database.js'
import type { SqliteStore } from './store.js'

export interface SqliteWorkerData {
  path: string
  /** The first message on it says how opening went; then it carries calls and answers. */
  port: MessagePort
}

export interface SqliteCall { id: number, method: keyof SqliteStore, args: unknown[] }
/** A call waiting its turn; a write tried at or after `lastTryAt` (performance.now()) fails if the lock is still held. */
interface Queued { call: SqliteCall, lastTryAt: number }
export type SqliteAnswer = { id: number, value: unknown } | { id: number, error: SerializedError }

/** Reads, which may go ahead of writes waiting for another connection's write lock. */
const READS: ReadonlySet<SqliteCall['method']> = new Set<SqliteCall['method']>([
  'findServiceKey', 'listServiceKeys', 'ownersOf', 'chainHead', 'readChain', 'chainInstances', 'queryAudit', 'ping', 'dataVersion'
])
/** How often writes waiting for another connection's write lock try again: soon, then at most this far apart. */
const FIRST_LOCK_RETRY_MS = 2
const MAX_LOCK_RETRY_MS = 25

/** The writes that may share a commit: the request path's, each idempotent or decided in its own statement. */
const GROUPED: ReadonlySet<SqliteCall['method']> = new Set<SqliteCall['method']>([
  'appendAudit', 'recordOwner', 'touchServiceKey', 'claimIdempotencyKey', 'settleIdempotencyKey', 'releaseIdempotencyKey'
])

function serve ({ path, port }: SqliteWorkerData): void {
  let store: SqliteDatabase | undefined
  try {
    store = openSqliteDatabase(path, { busyTimeoutMs: 0 })
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
  const start = ({ call: { method, args } }: Queued) => () => (database[method] as (...values: unknown[]) => Promise<unknown>).apply(database, args)

  // Calls not yet run, in the order they came. Each turn runs the first call alone, or the writes
  // that lead the queue together; what came meanwhile joins the queue for the next turn.
  const arrived: Queued[] = []
  // While another connection holds the write lock, the writes at the head of the queue wait for
  // it here, tried again every few ms, rather than in SQLite's busy wait, which would hold this
  // thread: reads behind them (service keys, owners, health) are served meanwhile. They see what
  // is committed, which the waiting writes are not yet. Each write waits at most LOCK_WAIT_MS from
  // when it came, however many wait before it: past that, it fails on its next try, with those
  // behind it that are past theirs too.
  let retryDelayMs = 0
  /** Set while the writes at the head wait for their next try. */
  let retry: NodeJS.Timeout | undefined
  let scheduled = false
  const schedule = (): void => {
    if (scheduled) return
    scheduled = true
    setImmediate(runNext)
  }
  const retryLater = (): void => {
    retryDelayMs = Math.min(MAX_LOCK_RETRY_MS, Math.max(FIRST_LOCK_RETRY_MS, retryDelayMs * 2))
    retry = setTimeout(() => {
      retry = undefined
      schedule()
    }, retryDelayMs)
  }
  const runNext = (): void => {
    scheduled = false
    // Never empty here: a turn is scheduled when a call comes, after a turn that left some, and
    // by the retry timer, while the writes it is for wait at the head.
    const first = arrived[0] as Queued
    if (first.call.method === 'close') {
      // The opening thread waits for this thread to exit: then the file is closed. Nothing is sent after close.
      void database.close().finally(() => process.exit(0))
      return
    }
    if (READS.has(first.call.method)) {
      arrived.shift()
      answer(first.call.id, start(first)())
    } else if (retry !== undefined) {
      // The writes at the head wait for the lock: the first read behind them goes now.
      const at = arrived.findIndex(({ call }) => READS.has(call.method))
      if (at === -1) return
      const [read] = arrived.splice(at, 1) as [Queued]
      answer(read.call.id, start(read)())
    } else {
      // A write of the request path leads the writes of it behind it; any other write goes alone.
      // On its last try, only with those past their last try too.
      const now = performance.now()
      const lastTry = first.lastTryAt <= now
      let end = 1
      if (GROUPED.has(first.call.method)) {
        while (end < arrived.length) {
          const next = arrived[end] as Queued
          if (!GROUPED.has(next.call.method) || (lastTry && next.lastTryAt > now)) break
          end++
        }
      }
      const group = arrived.slice(0, end)
      const results = database.commitTogetherUnlessLocked(group.map(start), lastTry)
      if (results === 'locked') {
        retryLater()
        // For the reads waiting behind, if any: they need not wait for the retry.
        schedule()
        return
      }
      arrived.splice(0, end)
      retryDelayMs = 0
      results.forEach((result, at) => { answer((group[at] as Queued).call.id, result) })
    }
    if (arrived.length > 0) schedule()
  }
  port.on('message', (call: SqliteCall) => {
    // Timed by the monotonic clock: a step of the wall clock neither fails writes early nor holds them longer.
    arrived.push({ call, lastTryAt: performance.now() + LOCK_WAIT_MS })
    schedule()
  })
}

serve(workerData as SqliteWorkerData)
