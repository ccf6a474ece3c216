// A Store that reports how long each of its operations takes and which fail, so audit writes and
// store errors show in the metrics whichever part of the proxy made the call. Slice by slice, one
// line per operation: a slice that gains an operation does not compile until it is timed here.
import { performance } from 'node:perf_hooks'
import type { AuditStore, HealthStore, IdempotencyStore, KeyStore, OwnershipStore, Store } from '../store/store.js'
import type { ProxyMetrics } from './metrics.js'

/** The name an operation is reported under: the store's own name for it. */
type Operation = Exclude<keyof Store, 'kind'>

/** Wraps one operation so that each call is timed and reported under `operation`. */
type Timed = <A extends unknown[], R>(operation: Operation, run: (...args: A) => Promise<R>) => (...args: A) => Promise<R>

// Each wrapper calls the store's method at call time, not one read once: it delegates to whatever
// the store holds then.
const timedAudit = (store: AuditStore, timed: Timed): AuditStore => ({
  appendAudit: timed('appendAudit', async (rows) => { await store.appendAudit(rows) }),
  chainHead: timed('chainHead', async (instanceId) => await store.chainHead(instanceId)),
  readChain: timed('readChain', async (instanceId, afterSeq, limit) => await store.readChain(instanceId, afterSeq, limit)),
  chainInstances: timed('chainInstances', async () => await store.chainInstances()),
  queryAudit: timed('queryAudit', async (query) => await store.queryAudit(query)),
  pruneAudit: timed('pruneAudit', async (before, limit) => await store.pruneAudit(before, limit))
})

const timedKeys = (store: KeyStore, timed: Timed): KeyStore => ({
  createServiceKey: timed('createServiceKey', async (row) => { await store.createServiceKey(row) }),
  findServiceKey: timed('findServiceKey', async (keyId) => await store.findServiceKey(keyId)),
  listServiceKeys: timed('listServiceKeys', async () => await store.listServiceKeys()),
  revokeServiceKey: timed('revokeServiceKey', async (keyId, at) => await store.revokeServiceKey(keyId, at)),
  touchServiceKey: timed('touchServiceKey', async (keyId, at) => { await store.touchServiceKey(keyId, at) })
})

const timedOwnership = (store: OwnershipStore, timed: Timed): OwnershipStore => ({
  recordOwner: timed('recordOwner', async (row) => { await store.recordOwner(row) }),
  ownersOf: timed('ownersOf', async (computationIds) => await store.ownersOf(computationIds))
})

const timedIdempotency = (store: IdempotencyStore, timed: Timed): IdempotencyStore => ({
  claimIdempotencyKey: timed('claimIdempotencyKey', async (row) => await store.claimIdempotencyKey(row)),
  settleIdempotencyKey: timed('settleIdempotencyKey', async (subject, key, outcome) => { await store.settleIdempotencyKey(subject, key, outcome) }),
  releaseIdempotencyKey: timed('releaseIdempotencyKey', async (subject, key, claimedAt) => { await store.releaseIdempotencyKey(subject, key, claimedAt) }),
  pruneIdempotencyKeys: timed('pruneIdempotencyKeys', async (before, limit) => await store.pruneIdempotencyKeys(before, limit))
})

const timedHealth = (store: HealthStore, timed: Timed): HealthStore => ({
  ping: timed('ping', async () => { await store.ping() })
})

export function instrumentStore (store: Store, metrics: ProxyMetrics): Store {
  const timed: Timed = (operation, run) => async (...args) => {
    const started = performance.now()
    try {
      const result = await run(...args)
      metrics.storeCallFinished(operation, performance.now() - started, false)
      return result
    } catch (error) {
      metrics.storeCallFinished(operation, performance.now() - started, true)
      throw error
    }
  }
  return {
    kind: store.kind,
    ...timedAudit(store, timed),
    ...timedKeys(store, timed),
    ...timedOwnership(store, timed),
    ...timedIdempotency(store, timed),
    ...timedHealth(store, timed),
    close: timed('close', async () => { await store.close() })
  }
}
