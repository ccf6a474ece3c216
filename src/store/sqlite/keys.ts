// The service-key slice on SQLite: the service_keys table.
import type Database from 'better-sqlite3'
import { SERVICE_KEY_COLUMNS, serviceKeyValues, toServiceKeyRow, type ServiceKeyColumns } from '../identity-columns.js'
import type { KeyStore } from '../key-store.js'
import { guarded } from './guarded.js'

export function sqliteKeyStore (db: Database.Database): KeyStore {
  const insertKey = db.prepare(`INSERT INTO service_keys (${SERVICE_KEY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
  const findKey = db.prepare('SELECT * FROM service_keys WHERE key_id = ?')
  const listKeys = db.prepare('SELECT * FROM service_keys ORDER BY created_at, key_id')
  const revokeKey = db.prepare('UPDATE service_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL')
  const touchKey = db.prepare('UPDATE service_keys SET last_used_at = ? WHERE key_id = ?')

  return {
    async createServiceKey (row) {
      guarded('create a service key', () => insertKey.run(serviceKeyValues(row)))
    },
    async findServiceKey (keyId) {
      // The row is read inside the guard too: a row whose groups are not JSON is a store failure
      // (a StoreError, as every other), not an error the worker cannot answer with.
      return guarded('find a service key', () => {
        const found = findKey.get(keyId) as ServiceKeyColumns | undefined
        return found === undefined ? undefined : toServiceKeyRow(found)
      })
    },
    async listServiceKeys () {
      return guarded('list service keys', () => (listKeys.all() as ServiceKeyColumns[]).map(toServiceKeyRow))
    },
    async revokeServiceKey (keyId, at) {
      return guarded('revoke a service key', () => revokeKey.run(at, keyId).changes === 1)
    },
    async touchServiceKey (keyId, at) {
      guarded('record a service key\'s use', () => touchKey.run(at, keyId))
    }
  }
}
