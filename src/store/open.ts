// Opens the store the configuration names: PostgreSQL for a DATABASE_URL, else the SQLite file.
import type { Config } from '../config.js'
import { openPostgresStore } from './postgres.js'
import { openSqliteStore } from './sqlite.js'
import type { Store } from './store.js'

export async function openStore (settings: Config['store']): Promise<Store> {
  return settings.kind === 'postgres'
    ? await openPostgresStore({ connectionString: settings.url, ...(settings.timeoutMs === undefined ? {} : { timeoutMs: settings.timeoutMs }) })
    : await openSqliteStore(settings.path)
}
