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
  if (settings.hmacKey !== undefined) return checked(Buffer.from(settings.hmacKey, 'utf8'), 'AUDIT_HMAC_KEY')
  if (settings.hmacKeyFile !== undefined) {
    try {
      return checked(Buffer.from(readFileSync(settings.hmacKeyFile, 'utf8').trim(), 'utf8'), 'the file named by AUDIT_HMAC_KEY_FILE')
    } catch (error) {
      if (error instanceof ConfigError) throw error
      throw new ConfigError([`the file named by AUDIT_HMAC_KEY_FILE cannot be read (${String((error as NodeJS.ErrnoException).code)}): check the path`])
    }
  }
  if (store.kind === 'postgres') {
    throw new ConfigError(['AUDIT_HMAC_KEY or AUDIT_HMAC_KEY_FILE is required with DATABASE_URL: every instance must hash with the same key'])
  }
  if (store.path === ':memory:') return randomBytes(32)
  const path = `${store.path}.hmac-key`
  mkdirSync(dirname(path), { recursive: true })
  if (!existsSync(path)) writeFileSync(path, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' })
  return checked(Buffer.from(readFileSync(path, 'utf8').trim(), 'utf8'), path)
}

function checked (key: Buffer, source: string): Buffer {
  if (key.length < MIN_KEY_BYTES) throw new ConfigError([`${source} must hold at least ${MIN_KEY_BYTES} bytes`])
  return key
}
