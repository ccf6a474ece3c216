// The default store: one SQLite file, whose database work runs in a worker thread of its own
// (sqlite-worker.ts) so that a locked or slow disk cannot stall the event loop. Opening resolves
// once the worker has opened the file (a bad path rejects at once); every call after that is a
// message to the worker and its answer.
import { extname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { once } from 'node:events'
import { MessageChannel, Worker } from 'node:worker_threads'
import type { SerializedError } from './serialized-error.js'
import type { SqliteAnswer, SqliteCall, SqliteWorkerData } from './sqlite-worker.js'
import { StoreError, type SqliteStore } from './store.js'

/** Every operation of the store but closing, which ends the worker instead. */
type Operation = Exclude<keyof SqliteStore, 'kind' | 'close'>
type Answer<K extends Operation> = Awaited<ReturnType<SqliteStore[K]>>

/** The worker module beside this one: TypeScript under a loader (tests, tsx), JavaScript once built. */
const WORKER = new URL(`./sqlite-worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url)
/**
 * The loaders this process was started with (`--import tsx`, tap's), resolved here. Node 22 does
 * not run `--import` in worker threads, so the worker imports them itself before its module.
 */
const PRELOADS = preloadsOf(process.execArgv)
const BOOTSTRAP = `(async () => {
  const { workerData } = require('node:worker_threads')
  for (const preload of workerData.preloads) {
    const loaded = await import(preload)
    // tsx's loader registers its hooks on the main thread only; its API registers them here.
    if (typeof loaded.register === 'function' && preload.includes('/tsx/')) loaded.register()
  }
  await import(workerData.entry)
})()`

interface Bootstrap { preloads: string[], entry: string }

/** The modules `--import` names in `execArgv`, as URLs; tsx's as its API, which can register in a worker. */
export function preloadsOf (execArgv: readonly string[]): string[] {
  const preloads: string[] = []
  execArgv.forEach((argument, index) => {
    const specifier = argument === '--import' ? execArgv[index + 1] : argument.startsWith('--import=') ? argument.slice('--import='.length) : undefined
    // `--import tsx`, or the tsx command's own `--import …/node_modules/tsx/dist/loader.mjs`.
    if (specifier !== undefined) preloads.push(import.meta.resolve(specifier === 'tsx' || specifier.includes('/tsx/') ? 'tsx/esm/api' : specifier))
  })
  return preloads
}

/** How long opening may take by default: creating the file and migrating it, possibly behind another writer's lock. */
const OPEN_TIMEOUT_MS = 30_000

interface Pending { method: string, resolve: (value: unknown) => void, reject: (error: Error) => void }

function storeError (what: string, error: SerializedError): StoreError {
  const cause = error.cause === undefined ? new Error(error.message) : Object.assign(new Error(error.cause.message), { name: error.cause.name, code: error.cause.code })
  return new StoreError(error.cause === undefined ? `SQLite store: ${what} failed` : error.message, { cause })
}

export async function openSqliteStore (path: string, options: { openTimeoutMs?: number } = {}): Promise<SqliteStore> {
  const openTimeoutMs = options.openTimeoutMs ?? OPEN_TIMEOUT_MS
  const { port1: port, port2 } = new MessageChannel()
  const worker = new Worker(BOOTSTRAP, {
    eval: true,
    execArgv: [],
    workerData: { path, port: port2, preloads: PRELOADS, entry: WORKER.href } satisfies SqliteWorkerData & Bootstrap,
    transferList: [port2]
  })
  // Awaited, never waited for by blocking: module loader hooks (tsx, tap) serve a worker's imports
  // through the thread that created it, and on Node 22 a blocked creator would never answer.
  let timer: NodeJS.Timeout | undefined
  const opened = await Promise.race([
    once(port, 'message').then(([message]) => message as { error?: SerializedError }),
    new Promise<undefined>((resolve) => { timer = setTimeout(() => resolve(undefined), openTimeoutMs) })
  ])
  clearTimeout(timer)
  if (opened === undefined) {
    port.close()
    await worker.terminate()
    throw storeError('open', { message: `the database did not open within ${openTimeoutMs} ms` })
  }
  if (opened.error !== undefined) {
    // The worker has closed its port and ends by itself.
    port.close()
    throw storeError('open', opened.error)
  }

  let nextId = 0
  let closed = false
  let exited = false
  const pending = new Map<number, Pending>()
  // Only calls in flight keep the process alive, as an open file did before; and, once closing
  // has begun, the worker until it has closed the file and ended (an answer arriving meanwhile
  // must not let go of it).
  const holdOpen = (): void => {
    if (pending.size === 0 && !closed) {
      worker.unref()
      port.unref()
    } else {
      worker.ref()
      port.ref()
    }
  }
  port.on('message', (answer: SqliteAnswer) => {
    // Every answer is to a call in flight: calls leave `pending` only here, or when the worker stops.
    const call = pending.get(answer.id) as Pending
    pending.delete(answer.id)
    if ('error' in answer) call.reject(storeError(call.method, answer.error))
    else call.resolve(answer.value)
    holdOpen()
  })
  // When the worker stops (closed, or failed: its 'error' comes before its 'exit'), what was in
  // flight is rejected, and later calls find the store closed.
  const exitedPromise = new Promise<void>((resolve) => {
    const stopped = (): void => {
      exited = true
      // Only a worker that died (no test can make one) leaves calls unanswered: a closing one answers first.
      /* c8 ignore next */
      for (const call of pending.values()) call.reject(storeError(call.method, { message: 'the database worker stopped' }))
      pending.clear()
      resolve()
    }
    worker.once('exit', stopped)
    worker.on('error', stopped)
  })
  holdOpen()

  /** Runs one operation in the worker: its arguments and answer typed by the operation it names. */
  async function call<K extends Operation> (method: K, args: Parameters<SqliteStore[K]>): Promise<Answer<K>> {
    if (closed || exited) throw storeError(method, { message: 'The database connection is not open' })
    return await new Promise<Answer<K>>((resolve, reject) => {
      const id = ++nextId
      // What the worker answers is what its store's method returned, as a message carries it.
      pending.set(id, { method, resolve: resolve as (value: unknown) => void, reject })
      holdOpen()
      port.postMessage({ id, method, args } satisfies SqliteCall)
    })
  }

  // One line per operation, grouped by slice: each runs the same operation of the worker's store.
  return {
    kind: 'sqlite',
    appendAudit: async (rows) => { await call('appendAudit', [rows]) },
    chainHead: async (instanceId) => await call('chainHead', [instanceId]),
    readChain: async (instanceId, afterSeq, limit) => await call('readChain', [instanceId, afterSeq, limit]),
    chainInstances: async () => await call('chainInstances', []),
    queryAudit: async (query) => await call('queryAudit', [query]),
    pruneAudit: async (before, limit) => await call('pruneAudit', [before, limit]),
    createServiceKey: async (row) => { await call('createServiceKey', [row]) },
    findServiceKey: async (keyId) => await call('findServiceKey', [keyId]),
    listServiceKeys: async () => await call('listServiceKeys', []),
    revokeServiceKey: async (keyId, at) => await call('revokeServiceKey', [keyId, at]),
    touchServiceKey: async (keyId, at) => { await call('touchServiceKey', [keyId, at]) },
    recordOwner: async (row) => { await call('recordOwner', [row]) },
    ownersOf: async (computationIds) => await call('ownersOf', [computationIds]),
    claimIdempotencyKey: async (row) => await call('claimIdempotencyKey', [row]),
    settleIdempotencyKey: async (subject, key, outcome) => { await call('settleIdempotencyKey', [subject, key, outcome]) },
    releaseIdempotencyKey: async (subject, key, claimedAt) => { await call('releaseIdempotencyKey', [subject, key, claimedAt]) },
    pruneIdempotencyKeys: async (before, limit) => await call('pruneIdempotencyKeys', [before, limit]),
    ping: async () => { await call('ping', []) },
    dataVersion: async () => await call('dataVersion', []),
    async close () {
      if (!closed && !exited) {
        closed = true
        worker.ref()
        port.postMessage({ id: 0, method: 'close', args: [] } satisfies SqliteCall)
      }
      closed = true
      await exitedPromise
    }
  }
}
