// A Store that reports how long each of its operations takes and which fail, so audit writes and
// store errors show in the metrics whichever part of the proxy made the call.
import { performance } from 'node:perf_hooks'
import type { Store } from '../store/store.js'
import type { ProxyMetrics } from './metrics.js'

type StoreOperation = (...args: unknown[]) => Promise<unknown>

export function instrumentStore (store: Store, metrics: ProxyMetrics): Store {
  const instrumented: Record<string, unknown> = { kind: store.kind }
  const operations = store as unknown as Record<string, StoreOperation>
  for (const [name, member] of Object.entries(store)) {
    if (typeof member !== 'function') continue
    // Looked up at each call, not kept: the wrapper delegates to whatever the store holds then.
    instrumented[name] = async (...args: unknown[]) => {
      const started = performance.now()
      try {
        const result = await (operations[name] as StoreOperation).apply(store, args)
        metrics.storeCallFinished(name, performance.now() - started, false)
        return result
      } catch (error) {
        metrics.storeCallFinished(name, performance.now() - started, true)
        throw error
      }
    }
  }
  return instrumented as unknown as Store
}
