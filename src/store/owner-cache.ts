// Owners in memory: a computation's owner row is written once and never changes, so a row read
// from the store can be kept, and every later call on that computation decided without asking
// the store again. Bounded, least recently used first out. "No owner" is never kept: the owner
// of a run still being answered (or recorded by another instance) may be written at any moment.
import type { OwnerRow, OwnershipStore } from './ownership-store.js'

/** Owner rows kept at most: about 300 bytes each, so the default holds under 3 MB. */
export const OWNER_CACHE_ENTRIES = 10_000

export interface OwnerCache extends OwnershipStore {
  /** Rows held now. */
  readonly size: number
}

export function cachedOwnership (store: OwnershipStore, maxEntries = OWNER_CACHE_ENTRIES): OwnerCache {
  if (!(Number.isInteger(maxEntries) && maxEntries >= 1)) throw new RangeError(`maxEntries must be a whole number ≥ 1, got ${maxEntries}`)
  // Insertion order is recency: a row is moved to the end each time it is used.
  const rows = new Map<string, OwnerRow>()
  const keep = (row: OwnerRow): void => {
    rows.delete(row.computationId)
    rows.set(row.computationId, row)
    if (rows.size > maxEntries) rows.delete(rows.keys().next().value as string)
  }
  return {
    get size () {
      return rows.size
    },
    // Not kept on write: the first record for an id wins, and this one may not have been it.
    recordOwner: async (row) => { await store.recordOwner(row) },
    async ownersOf (computationIds) {
      const found = new Map<string, OwnerRow>()
      const missing: string[] = []
      for (const id of computationIds) {
        const row = rows.get(id)
        if (row === undefined) {
          missing.push(id)
        } else {
          keep(row)
          found.set(id, row)
        }
      }
      if (missing.length > 0) {
        for (const [id, row] of await store.ownersOf(missing)) {
          keep(row)
          found.set(id, row)
        }
      }
      return found
    }
  }
}
