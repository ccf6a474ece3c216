// Where the audit HMAC key comes from, and when start-up refuses for want of one.
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { loadHmacKey } from '../../src/audit/hmac-key.js'
import { ConfigError } from '../../src/errors.js'

const sqlite = (path: string) => ({ kind: 'sqlite' as const, path })
const postgres = { kind: 'postgres' as const, url: 'postgres://db/audit' }
const LONG_KEY = 'k'.repeat(32)

t.test('a configured key, or a key file, is used as given', async (t) => {
  const directory = await mkdtemp(join(tmpdir(), 'codeocean-proxy-hmac-'))
  t.teardown(() => rm(directory, { recursive: true, force: true }))
  t.same(loadHmacKey({ queueLimit: 1, hmacKey: LONG_KEY }, postgres), Buffer.from(LONG_KEY))
  await writeFile(join(directory, 'key'), `${LONG_KEY}\n`)
  t.same(loadHmacKey({ queueLimit: 1, hmacKeyFile: join(directory, 'key') }, postgres), Buffer.from(LONG_KEY))
})

t.test('a short key, an unreadable key file, or PostgreSQL without a key stops start-up', async (t) => {
  t.throws(() => loadHmacKey({ queueLimit: 1, hmacKey: 'short' }, postgres), new ConfigError(['AUDIT_HMAC_KEY must hold at least 16 bytes']))
  t.throws(() => loadHmacKey({ queueLimit: 1, hmacKeyFile: '/nonexistent/key' }, postgres), ConfigError)
  const directory = await mkdtemp(join(tmpdir(), 'codeocean-proxy-hmac-'))
  t.teardown(() => rm(directory, { recursive: true, force: true }))
  await writeFile(join(directory, 'short'), 'tiny\n')
  t.throws(() => loadHmacKey({ queueLimit: 1, hmacKeyFile: join(directory, 'short') }, postgres), /AUDIT_HMAC_KEY_FILE must hold at least 16 bytes/)
  t.throws(() => loadHmacKey({ queueLimit: 1 }, postgres), /required with DATABASE_URL/)
})

t.test('with SQLite and no key, one is generated beside the database and kept', async (t) => {
  const directory = await mkdtemp(join(tmpdir(), 'codeocean-proxy-hmac-'))
  t.teardown(() => rm(directory, { recursive: true, force: true }))
  const database = join(directory, 'nested', 'audit.sqlite')
  const first = loadHmacKey({ queueLimit: 1 }, sqlite(database))
  t.same(loadHmacKey({ queueLimit: 1 }, sqlite(database)), first, 'the same key after a restart')
  t.equal((await stat(`${database}.hmac-key`)).mode & 0o777, 0o600, 'readable by the service only')
  t.equal((await readFile(`${database}.hmac-key`, 'utf8')).trim().length, 64)
  t.equal(loadHmacKey({ queueLimit: 1 }, sqlite(':memory:')).length, 32, 'an in-memory store gets a key of its own')
})

t.test('a key that cannot be made beside the database stops start-up with one line', async (t) => {
  const directory = await mkdtemp(join(tmpdir(), 'codeocean-proxy-hmac-'))
  t.teardown(() => rm(directory, { recursive: true, force: true }))
  await writeFile(join(directory, 'a-file'), '')
  const database = join(directory, 'a-file', 'audit.sqlite')
  t.throws(() => loadHmacKey({ queueLimit: 1 }, sqlite(database)), new ConfigError([`the audit key ${database}.hmac-key cannot be made (EEXIST): check AUDIT_DB_PATH, or set AUDIT_HMAC_KEY_FILE`]))
})

t.test('a key of exactly 16 bytes is enough, and an unreadable key file is named with its errno', async (t) => {
  t.same(loadHmacKey({ queueLimit: 1, hmacKey: 'k'.repeat(16) }, postgres), Buffer.from('k'.repeat(16)))
  t.throws(() => loadHmacKey({ queueLimit: 1, hmacKeyFile: '/nonexistent/key' }, postgres),
    new ConfigError(['the file named by AUDIT_HMAC_KEY_FILE cannot be read (ENOENT): check the path']))
})

t.test('a generated key\'s directory is made however deep it is', async (t) => {
  const directory = await mkdtemp(join(tmpdir(), 'codeocean-proxy-hmac-'))
  t.teardown(() => rm(directory, { recursive: true, force: true }))
  const database = join(directory, 'one', 'two', 'audit.sqlite')
  t.equal(loadHmacKey({ queueLimit: 1 }, sqlite(database)).length, 64)
})
