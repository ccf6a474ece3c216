// The ownership slice on PostgreSQL: the computation_owners table.
import type pg from 'pg'
import { OWNER_COLUMNS, OWNER_LOOKUP_CHUNK, ownerValues, toOwnerRow, type OwnerColumns } from '../identity-columns.js'
import type { OwnerRow, OwnershipStore } from '../ownership-store.js'
import { guarded } from './pool.js'

export function postgresOwnershipStore (pool: pg.Pool): OwnershipStore {
  return {
    async recordOwner (row) {
      await guarded('record an owner', async () => {
        await pool.query(`INSERT INTO computation_owners (${OWNER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (computation_id) DO NOTHING`, ownerValues(row))
      })
    },
    async ownersOf (computationIds) {
      return await guarded('look up owners', async () => {
        const owners = new Map<string, OwnerRow>()
        for (let start = 0; start < computationIds.length; start += OWNER_LOOKUP_CHUNK) {
          const chunk = computationIds.slice(start, start + OWNER_LOOKUP_CHUNK)
          const { rows } = await pool.query<OwnerColumns>('SELECT * FROM computation_owners WHERE computation_id = ANY($1)', [chunk])
          for (const row of rows) owners.set(row.computation_id, toOwnerRow(row))
        }
        return owners
      })
    }
  }
}
