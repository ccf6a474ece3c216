// The service-key slice on PostgreSQL: the service_keys table. A revocation is announced to every
// instance listening (key-revocations.ts).
import type pg from 'pg'
import { SERVICE_KEY_COLUMNS, serviceKeyValues, toServiceKeyRow, type ServiceKeyColumns } from '../identity-columns.js'
import type { KeyStore } from '../key-store.js'
import { KEY_REVOKED_CHANNEL } from './key-revocations.js'
import { guarded } from './pool.js'

export function postgresKeyStore (pool: pg.Pool): KeyStore {
  return {
    async createServiceKey (row) {
      await guarded('create a service key', async () => {
        await pool.query(`INSERT INTO service_keys (${SERVICE_KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, serviceKeyValues(row))
      })
    },
    async findServiceKey (keyId) {
      return await guarded('find a service key', async () => {
        const [found] = (await pool.query<ServiceKeyColumns>('SELECT * FROM service_keys WHERE key_id = $1', [keyId])).rows
        return found === undefined ? undefined : toServiceKeyRow(found)
      })
    },
    async listServiceKeys () {
      return await guarded('list service keys', async () =>
        (await pool.query<ServiceKeyColumns>('SELECT * FROM service_keys ORDER BY created_at, key_id')).rows.map(toServiceKeyRow))
    },
    async revokeServiceKey (keyId, at) {
      // Announced in the same statement, so every instance listening hears of it once it is committed.
      return await guarded('revoke a service key', async () =>
        (await pool.query(`WITH revoked AS (UPDATE service_keys SET revoked_at = $1 WHERE key_id = $2 AND revoked_at IS NULL RETURNING key_id)
          SELECT pg_notify('${KEY_REVOKED_CHANNEL}', key_id) FROM revoked`, [at, keyId])).rowCount === 1)
    },
    async touchServiceKey (keyId, at) {
      await guarded('record a service key\'s use', async () => {
        await pool.query('UPDATE service_keys SET last_used_at = $1 WHERE key_id = $2', [at, keyId])
      })
    }
  }
}
