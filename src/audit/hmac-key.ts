// The key audit HMACs are made with: AUDIT_HMAC_KEY, or the file AUDIT_HMAC_KEY_FILE names.
// With neither, a SQLite-backed proxy keeps a generated key beside its database (so HMACs stay
// comparable across restarts); instances sharing PostgreSQL must be given the same key.
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import type { Config } from '../config.js'
import { ConfigError } from '../errors.js'

const MIN_KEY_BYTES = 16

export function loadHmacKey (settings: Config['audit'], store: Config['store']): Buffer {
  const existing = existingHmacKey(settings, store)
  if (existing !== undefined) return existing
  if (store.kind === 'postgres') {
    throw new ConfigError(['AUDIT_HMAC_KEY or AUDIT_HMAC_KEY_FILE is required with DATABASE_URL: every instance must hash with the same key'])
  }
  if (store.path === ':memory:') return randomBytes(32)
  const path = `${store.path}.hmac-key`
  try {
    mkdirSync(dirname(path), { recursive: true })
    writeFileSync(path, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' })
  } catch (error) {
    throw new ConfigError([`the audit key ${path} cannot be made (${String((error as NodeJS.ErrnoException).code)}): check AUDIT_DB_PATH, or set AUDIT_HMAC_KEY_FILE`])
  }
  return readKeyFile(path, path)
}

type KeySettings = Pick<Config['audit'], 'hmacKey' | 'hmacKeyFile'>

/**
 * The key the settings name, or the one kept beside a SQLite database; undefined where there is
 * none yet. Never makes one: `audit:verify` reads keys with it, and must not invent one.
 */
export function existingHmacKey (settings: KeySettings, store: Config['store']): Buffer | undefined {
  if (settings.hmacKey !== undefined) return checked(Buffer.from(settings.hmacKey, 'utf8'), 'AUDIT_HMAC_KEY')
  if (settings.hmacKeyFile !== undefined) return readKeyFile(settings.hmacKeyFile, 'the file named by AUDIT_HMAC_KEY_FILE')
  if (store.kind === 'postgres' || store.path === ':memory:') return undefined
  const path = `${store.path}.hmac-key`
  return existsSync(path) ? readKeyFile(path, path) : undefined
}

/** A key held in a file (surrounding white space dropped), checked; `source` names it in errors. */
export function readKeyFile (file: string, source: string): Buffer {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    throw new ConfigError([`${source} cannot be read (${String((error as NodeJS.ErrnoException).code)}): check the path`])
  }
  return checked(Buffer.from(text.trim(), 'utf8'), source)
}

function checked (key: Buffer, source: string): Buffer {
  if (key.length < MIN_KEY_BYTES) throw new ConfigError([`${source} must hold at least ${MIN_KEY_BYTES} bytes`])
  return key
}
