// Opens the store the configuration names: PostgreSQL for a DATABASE_URL, else the SQLite file.
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import type { Config } from '../config.js'
import { openSqliteStore } from './sqlite.js'
import type { Store } from './store.js'

export async function openStore (settings: Config['store']): Promise<Store> {
  if (settings.kind !== 'postgres') return await openSqliteStore(settings.path)
  // Loaded only when configured: the driver costs memory a SQLite deployment has no use for.
  const { openPostgresStore } = await import('./postgres.js')
  return await openPostgresStore({ connectionString: settings.url, ...(settings.timeoutMs === undefined ? {} : { timeoutMs: settings.timeoutMs }) })
}

/**
 * Why a command-line tool must not open this store, or undefined: a SQLite file that is not there.
 * Opening would make it, empty, with its folder, and the tool would then verify or list nothing
 * and say so as if all were well; a mistyped AUDIT_DB_PATH, or a command run from another
 * folder, must be told instead. Only the proxy makes its database, when it first starts.
 */
export function missingDatabase (settings: Config['store']): string | undefined {
  if (settings.kind === 'postgres' || settings.path === ':memory:' || existsSync(settings.path)) return undefined
  return `there is no database at ${resolve(settings.path)}: set AUDIT_DB_PATH to the proxy's (a relative path is read from the current folder); the proxy makes it when it first starts`
}
