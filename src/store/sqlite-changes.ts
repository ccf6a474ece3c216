// Writes to the SQLite file by another process, noticed within a tenth of a second: the keys
// command revoking a key, or an operator's sqlite3. SQLite's PRAGMA data_version, read on the
// store's own connection, changes whenever another connection has committed since it was last
// read, and never for the store's own writes. The proxy then drops every service key row it
// holds (identity/service-keys.ts), so a revocation made with `npm run keys -- revoke` holds
// within FOREIGN_WRITES_POLL_MS rather than within SERVICE_KEY_CACHE_MS. This is only a shortcut,
// as PostgreSQL's NOTIFY is: while the store does not answer, held rows still expire within
// SERVICE_KEY_CACHE_MS.
import type { SqliteStore } from './store.js'

/** How often the file's data version is read: ten reads a second, each a worker round trip. */
export const FOREIGN_WRITES_POLL_MS = 100

export interface ForeignWritesOptions {
  /** Told once per read that found the file changed by another connection. */
  onChange: () => void
  /** Told when a read fails (the next one is tried at the next interval). */
  onError: (error: Error) => void
  intervalMs?: number
}

export interface ForeignWritesWatch {
  /** Resolves once the version to compare with has been read (or could not be). */
  readonly started: Promise<void>
  close (): void
}

export function watchForeignWrites (store: Pick<SqliteStore, 'dataVersion'>, options: ForeignWritesOptions): ForeignWritesWatch {
  // Whom to tell: no one once closed, even of a read that was under way.
  let listener: ForeignWritesOptions | undefined = options
  let last: number | undefined
  let reading: Promise<void> | undefined
  // Until one read has succeeded there is nothing to compare with: a write made before it is
  // caught by SERVICE_KEY_CACHE_MS alone, as while reads fail.
  const read = async (): Promise<void> => {
    try {
      const version = await store.dataVersion()
      if (last !== undefined && version !== last) listener?.onChange()
      last = version
    } catch (error) {
      listener?.onError(error as Error)
    }
  }
  const started = read()
  const timer = setInterval(() => {
    // A read still waiting (the worker held up by another process's lock) is not queued behind.
    reading ??= read().finally(() => { reading = undefined })
  }, options.intervalMs ?? FOREIGN_WRITES_POLL_MS).unref()
  return {
    started,
    close () {
      listener = undefined
      clearInterval(timer)
    }
  }
}
