// The ownership slice on SQLite: the computation_owners table.
import type Database from 'better-sqlite3'
import { OWNER_COLUMNS, OWNER_LOOKUP_CHUNK, ownerValues, toOwnerRow, type OwnerColumns } from '../identity-columns.js'
import type { OwnerRow, OwnershipStore } from '../ownership-store.js'
import { guarded } from './guarded.js'

export function sqliteOwnershipStore (db: Database.Database): OwnershipStore {
  const insertOwner = db.prepare(`INSERT INTO computation_owners (${OWNER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (computation_id) DO NOTHING`)
  // Prepared once per number of ids (at most OWNER_LOOKUP_CHUNK of them): every call on one
  // computation asks with one id, and preparing costs more than the lookup itself.
  const ownerLookups = new Map<number, Database.Statement>()
  const ownerLookup = (ids: number): Database.Statement => {
    let statement = ownerLookups.get(ids)
    if (statement === undefined) {
      statement = db.prepare(`SELECT * FROM computation_owners WHERE computation_id IN (${Array.from({ length: ids }, () => '?').join(', ')})`)
      ownerLookups.set(ids, statement)
    }
    return statement
  }

  return {
    async recordOwner (row) {
      guarded('record an owner', () => insertOwner.run(ownerValues(row)))
    },
    async ownersOf (computationIds) {
      return guarded('look up owners', () => {
        const owners = new Map<string, OwnerRow>()
        for (let start = 0; start < computationIds.length; start += OWNER_LOOKUP_CHUNK) {
          const chunk = computationIds.slice(start, start + OWNER_LOOKUP_CHUNK)
          const rows = ownerLookup(chunk.length).all(chunk) as OwnerColumns[]
          for (const row of rows) owners.set(row.computation_id, toOwnerRow(row))
        }
        return owners
      })
    }
  }
}
