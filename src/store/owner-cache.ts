// Owners in memory: a computation's owner row is written once and never changes, so a row read
// from the store can be kept, and every later call on that computation decided without asking
// the store again. Bounded, least recently used first out. "No owner" is never kept: the owner
// of a run still being answered (or recorded by another instance) may be written at any moment.
import type { OwnerRow, OwnershipStore } from './ownership-store.js'

/** Owner rows kept at most. */
export const OWNER_CACHE_ENTRIES = 10_000
/**
 * Their size kept at most, as estimated from their strings: a row's groups come from the
 * gateway, and a directory can give a person hundreds.
 */
export const OWNER_CACHE_BYTES = 8 * 1024 * 1024

/** About what a row holds in memory: its strings (two bytes a character) and the objects around them. */
export function ownerRowBytes (row: OwnerRow): number {
  const text = row.computationId.length + row.subject.length + String(row.capsuleId ?? row.pipelineId).length + row.createdAt.length +
    row.groups.reduce((sum, group) => sum + group.length, 0)
  return 2 * text + 64 * row.groups.length + 256
}

export interface OwnerCache extends OwnershipStore {
  /** Rows held now. */
  readonly size: number
  /** Their estimated size (ownerRowBytes), in bytes. */
  readonly bytes: number
}

export function cachedOwnership (store: OwnershipStore, maxEntries = OWNER_CACHE_ENTRIES, maxBytes = OWNER_CACHE_BYTES): OwnerCache {
  if (!(Number.isInteger(maxEntries) && maxEntries >= 1)) throw new RangeError(`maxEntries must be a whole number ≥ 1, got ${maxEntries}`)
  // Insertion order is recency: a row is moved to the end each time it is used.
  const rows = new Map<string, { row: OwnerRow, bytes: number }>()
  let bytes = 0
  const drop = (id: string): void => {
    const held = rows.get(id)
    if (held === undefined) return
    rows.delete(id)
    bytes -= held.bytes
  }
  const keep = (row: OwnerRow): void => {
    drop(row.computationId)
    const size = ownerRowBytes(row)
    // A row too big to keep at all is simply read each time.
    if (size > maxBytes) return
    rows.set(row.computationId, { row, bytes: size })
    bytes += size
    while (rows.size > maxEntries || bytes > maxBytes) drop(rows.keys().next().value as string)
  }
  return {
    get size () {
      return rows.size
    },
    get bytes () {
      return bytes
    },
    // Not kept on write: the first record for an id wins, and this one may not have been it.
    recordOwner: async (row) => { await store.recordOwner(row) },
    async ownersOf (computationIds) {
      const found = new Map<string, OwnerRow>()
      const missing: string[] = []
      for (const id of computationIds) {
        const held = rows.get(id)
        if (held === undefined) {
          missing.push(id)
        } else {
          // Used: now the most recent.
          rows.delete(id)
          rows.set(id, held)
          found.set(id, held.row)
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
