// The store behind the proxy, in slices with one concern each: the audit trail, service keys,
// computation ownership, idempotency keys and health. Each consumer is typed with its slice only;
// the whole Store is what opening gives, for the app to hand each consumer its part and to close.
// A SQLite file by default, PostgreSQL when several instances share them: both adapters run the
// same versioned migrations (migrations.ts) and pass the same contract tests.
import type { AuditStore } from './audit-store.js'
import type { HealthStore } from './health-store.js'
import type { IdempotencyStore } from './idempotency-store.js'
import type { KeyStore } from './key-store.js'
import type { OwnershipStore } from './ownership-store.js'

export type { AuditQuery, AuditRow, AuditStore, ChainHead } from './audit-store.js'
export type { HealthStore } from './health-store.js'
export type { IdempotencyOutcome, IdempotencyRow, IdempotencyStore } from './idempotency-store.js'
export type { KeyStore, ServiceKeyRealm, ServiceKeyRow } from './key-store.js'
export type { OwnerRow, OwnershipStore } from './ownership-store.js'

export interface Store extends AuditStore, KeyStore, OwnershipStore, IdempotencyStore, HealthStore {
  readonly kind: 'sqlite' | 'postgres'
  close (): Promise<void>
}

/** The SQLite store, which alone can tell that another process wrote to its file. */
export interface SqliteStore extends Store {
  readonly kind: 'sqlite'
  /**
   * A number that changes whenever another connection (the keys command, an operator's sqlite3)
   * has committed to the file since this store last asked: SQLite's PRAGMA data_version. The
   * store's own writes do not change it.
   */
  dataVersion (): Promise<number>
}

export function isSqliteStore (store: Store): store is SqliteStore {
  return store.kind === 'sqlite' && typeof (store as Partial<SqliteStore>).dataVersion === 'function'
}

/** A store operation failed: the database is down, closed, read-only or refused the write. */
export class StoreError extends Error {
  constructor (message: string, options: { cause: unknown }) {
    super(message, options)
    this.name = 'StoreError'
  }
}
