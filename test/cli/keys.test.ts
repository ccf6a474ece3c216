// `npm run keys`: keys it makes are accepted by the proxy and stored only as a hash, list and
// revoke work on both stores, a mistake stores nothing, and the npm script runs end to end.
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { isEntryPoint, runAsProgram, runKeysCommand, USAGE, type KeysCommandIo, type Program } from '../../src/cli/keys.js'
import { Unauthenticated } from '../../src/errors.js'
import { createServiceKey, ServiceKeys } from '../../src/identity/service-keys.js'
import { openSqliteDatabase } from '../../src/store/sqlite-database.js'
import { StoreError, type Store } from '../../src/store/store.js'
import { runToEnd } from '../helpers/spawn-child.js'
import { forEachStore, TEST_DATABASE_URL, type StoreFactory } from '../helpers/stores.js'

// Every command against both stores, then npm and tsx in processes of their own: about 35 s on
// this project's busy 2-core machine, past tap's 30 s for a file.
t.setTimeout(120_000)

const KEYS_MODULE = new URL('../../src/cli/keys.ts', import.meta.url)
const KEY = /^cpx_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/
const NOW = new Date('2030-01-01T00:00:00.000Z')
const HOUR_MS = 3_600_000

interface Outcome { code: number, stdout: string, stderr: string }

async function keys (argv: string[], env: Record<string, string>, extra: Partial<KeysCommandIo> = {}): Promise<Outcome> {
  let stdout = ''
  let stderr = ''
  const code = await runKeysCommand(argv, {
    stdout: { write: (text: string) => { stdout += text } },
    stderr: { write: (text: string) => { stderr += text } },
    env,
    now: NOW,
    ...extra
  })
  return { code, stdout, stderr }
}

/** The environment that points the command at this test's store, as an operator would. */
function envFor (stores: StoreFactory): Record<string, string> {
  return stores.name === 'sqlite'
    ? { AUDIT_DB_PATH: stores.path! }
    : { DATABASE_URL: `${TEST_DATABASE_URL}?options=${encodeURIComponent(`-c search_path=${stores.schema!}`)}` }
}

async function temporaryDirectory (t: Test): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'codeocean-proxy-keys-'))
  t.teardown(() => rm(directory, { recursive: true, force: true }))
  return directory
}

/** The SQLite file of a proxy that has started once: the command never makes one. */
async function startedDatabase (t: Test): Promise<string> {
  const path = join(await temporaryDirectory(t), 'proxy.sqlite')
  await openSqliteDatabase(path).close()
  return path
}

/** The data rows of the table `list` prints, split on its column gaps. */
function tableRows (stdout: string): string[][] {
  return stdout.trimEnd().split('\n').slice(1).map((line) => line.split(/ {2,}/))
}

forEachStore(t, 'create prints a key the proxy accepts, and the store keeps only its hash', async (t, stores) => {
  const store = await stores.open()
  const created = await keys(['create', '--subject', 'nightly-job', '--group', 'team-a', '--groups', 'team-b,team-c', '--description', 'nightly import'], envFor(stores))
  t.equal(created.code, 0)
  t.match(created.stdout, /^cpx_[0-9a-f]{16}_[A-Za-z0-9_-]{43}\n$/, 'the key alone, on one line')
  const [key = '', keyId = '', secret = ''] = KEY.exec(created.stdout.trim()) ?? []
  t.match(created.stderr, keyId)
  t.match(created.stderr, 'subject:     key:nightly-job\n', 'the key proves its subject in the namespace of keys')
  t.match(created.stderr, 'groups:      team-a, team-b, team-c')
  t.match(created.stderr, 'description: nightly import')
  t.match(created.stderr, 'expires:     never')
  t.match(created.stderr, 'shown once: store it now; the proxy keeps only its hash')
  t.notOk(created.stderr.includes(secret), 'the note does not repeat the key')

  const identity = await new ServiceKeys(store).authenticate(key)
  t.same(identity, { subject: 'key:nightly-job', email: null, groups: ['team-a', 'team-b', 'team-c'], method: 'service-key', keyId })

  const row = await store.findServiceKey(keyId)
  t.equal(row?.secretHash, createHash('sha256').update(secret).digest('hex'))
  t.equal(row?.createdAt, NOW.toISOString())
  t.notOk(JSON.stringify(row).includes(secret), 'the stored row holds no secret')
  if (stores.name === 'sqlite') {
    const files = await Promise.all([stores.path!, `${stores.path!}-wal`].filter(existsSync).map((file) => readFile(file, 'latin1')))
    t.notOk(files.some((bytes) => bytes.includes(secret)), 'nor does any byte of the database file')
  }
  for (const argv of [['list'], ['list', '--json']]) {
    const listed = await keys(argv, envFor(stores))
    t.match(listed.stdout, keyId)
    t.notOk(listed.stdout.includes(secret) || listed.stdout.includes(row!.secretHash), `${argv.join(' ')} shows neither the secret nor its hash`)
  }
})

forEachStore(t, 'create --as-person makes a key that proves the person itself, and list says so', async (t, stores) => {
  const store = await stores.open()
  const env = envFor(stores)
  const person = await keys(['create', '--subject', 'alice', '--as-person', '--group', 'team-a'], env)
  t.equal(person.code, 0, person.stderr)
  t.match(person.stderr, 'subject:     alice (acts as this person)\n')
  const service = await keys(['create', '--subject', 'alice'], env, { now: new Date(NOW.getTime() + 1000) })
  t.equal(service.code, 0, service.stderr)
  const [personKey = '', personId = ''] = KEY.exec(person.stdout.trim()) ?? []
  const [serviceKey = '', serviceId = ''] = KEY.exec(service.stdout.trim()) ?? []
  t.same(await new ServiceKeys(store).authenticate(personKey), { subject: 'alice', email: null, groups: ['team-a'], method: 'service-key', keyId: personId })
  t.same(await new ServiceKeys(store).authenticate(serviceKey), { subject: 'key:alice', email: null, groups: [], method: 'service-key', keyId: serviceId },
    'without --as-person the same subject is a key of its own')
  t.same(tableRows((await keys(['list'], env)).stdout).map((row) => row.slice(0, 2)), [[personId, 'alice (as person)'], [serviceId, 'key:alice']])
  t.match(JSON.parse((await keys(['list', '--json'], env)).stdout), [{ keyId: personId, subject: 'alice', asPerson: true }, { keyId: serviceId, subject: 'key:alice', asPerson: false }])
})

forEachStore(t, 'list shows a key active, revoked after revoke, and an expired one as expired', async (t, stores) => {
  const store = await stores.open()
  const env = envFor(stores)
  const created = await keys(['create', '--subject', 'etl', '--expires', '30d'], env)
  const [key = '', keyId = ''] = KEY.exec(created.stdout.trim()) ?? []
  // A second later, so the list's order (oldest first) is known.
  const shortLived = await createServiceKey(store, { subject: 'one-off', groups: ['ops'], expiresAt: new Date(NOW.getTime() + HOUR_MS) }, new Date(NOW.getTime() + 1000))
  const later = new Date(NOW.getTime() + 2 * HOUR_MS)

  const before = await keys(['list'], env, { now: later })
  t.equal(before.code, 0)
  t.same(before.stdout.split('\n')[0]?.split(/ {2,}/), ['KEY ID', 'SUBJECT', 'GROUPS', 'CREATED', 'EXPIRES', 'LAST USED', 'STATUS', 'DESCRIPTION'])
  t.same(tableRows(before.stdout), [
    [keyId, 'key:etl', '-', '2030-01-01T00:00:00Z', '2030-01-31T00:00:00Z', '-', 'active'],
    [shortLived.row.keyId, 'key:one-off', 'ops', '2030-01-01T00:00:01Z', '2030-01-01T01:00:00Z', '-', 'expired']
  ])

  const revoked = await keys(['revoke', keyId], env, { now: later })
  t.equal(revoked.code, 0)
  t.equal(revoked.stdout, `revoked ${keyId}\n`)
  t.equal(revoked.stderr, `Refused by every proxy instance sharing this store ${stores.name === 'postgres' ? 'at once' : 'within SERVICE_KEY_CACHE_MS (1 s by default)'}, with nothing to restart.\n`,
    'PostgreSQL announces it; SQLite\'s instances read it again within the second')
  await t.rejects(new ServiceKeys(store, { now: () => later.getTime() }).authenticate(key), Unauthenticated, 'the proxy refuses it at once')

  const after = await keys(['list'], env, { now: later })
  t.same(tableRows(after.stdout)[0], [keyId, 'key:etl', '-', '2030-01-01T00:00:00Z', '2030-01-31T00:00:00Z', '-', 'revoked 2030-01-01T02:00:00Z'])
  const json = await keys(['list', '--json'], env, { now: later })
  t.same(JSON.parse(json.stdout), [
    { keyId, subject: 'key:etl', asPerson: false, groups: [], description: null, createdAt: NOW.toISOString(), expiresAt: '2030-01-31T00:00:00.000Z', lastUsedAt: null, revokedAt: later.toISOString(), status: 'revoked', realm: 'proxy' },
    { keyId: shortLived.row.keyId, subject: 'key:one-off', asPerson: false, groups: ['ops'], description: null, createdAt: '2030-01-01T00:00:01.000Z', expiresAt: '2030-01-01T01:00:00.000Z', lastUsedAt: null, revokedAt: null, status: 'expired', realm: 'proxy' }
  ], 'the same fields, and no secretHash')
})

forEachStore(t, 'revoke refuses an unknown id and an already revoked one with exit 1', async (t, stores) => {
  const store = await stores.open()
  const unknown = await keys(['revoke', '0123456789abcdef'], envFor(stores))
  t.same(unknown, { code: 1, stdout: '', stderr: `keys: no service key 0123456789abcdef in ${stores.name === 'sqlite' ? `the SQLite file ${stores.path!}` : 'the PostgreSQL database at DATABASE_URL'}\n` })
  const { row } = await createServiceKey(store, { subject: 'svc', groups: [] })
  t.equal((await keys(['revoke', row.keyId], envFor(stores))).code, 0)
  const again = await keys(['revoke', row.keyId], envFor(stores))
  t.same(again, { code: 1, stdout: '', stderr: `keys: service key ${row.keyId} was already revoked at ${NOW.toISOString()}\n` })
})

t.test('an empty store lists nothing: a note on stderr, or [] as JSON', async (t) => {
  const env = { AUDIT_DB_PATH: await startedDatabase(t) }
  t.same(await keys(['list'], env), { code: 0, stdout: '', stderr: `no service keys in the SQLite file ${env.AUDIT_DB_PATH}\n` })
  t.same(await keys(['list', '--json'], env), { code: 0, stdout: '[]\n', stderr: '' })
})

t.test('--expires takes a duration from the injected now, or a future ISO-8601 date', async (t) => {
  const path = await startedDatabase(t)
  const cases: Array<[string, string]> = [
    ['30d', '2030-01-31T00:00:00.000Z'],
    ['12h', '2030-01-01T12:00:00.000Z'],
    ['2030-06-30', '2030-06-30T00:00:00.000Z'],
    ['2030-06-30T18:30:00+02:00', '2030-06-30T16:30:00.000Z'],
    ['2030-06-30T18:30Z', '2030-06-30T18:30:00.000Z']
  ]
  for (const [expires, expected] of cases) {
    const created = await keys(['create', '--subject', 'svc', '--expires', expires], { AUDIT_DB_PATH: path })
    t.equal(created.code, 0, expires)
    t.match(created.stderr, `expires:     ${expected}`)
    const store = openSqliteDatabase(path)
    t.equal((await store.findServiceKey(KEY.exec(created.stdout.trim())?.[1] ?? ''))?.expiresAt, expected, `${expires} is stored as ${expected}`)
    await store.close()
  }
})

t.test('without an injected clock, expiries are judged against the real one', async (t) => {
  let stderr = ''
  const code = await runKeysCommand(['create', '--subject', 'svc', '--expires', new Date(Date.now() - 60_000).toISOString()], {
    stdout: { write: () => t.fail('no key') },
    stderr: { write: (text: string) => { stderr += text } },
    env: { AUDIT_DB_PATH: ':memory:' }
  })
  t.equal(code, 2)
  t.match(stderr, /is not in the future/)
})

t.test('a mistake on the command line exits 2 with one clear line, and stores nothing', async (t) => {
  const path = join(await temporaryDirectory(t), 'proxy.sqlite')
  const mistakes: Array<[string[], RegExp]> = [
    [['create'], /^keys: create needs --subject <subject>/],
    [['create', '--subject', ' padded'], /^keys: --subject must be 1 to 256 printable ASCII characters/],
    [['create', '--subject', 'x'.repeat(257)], /^keys: --subject must be 1 to 256/],
    [['create', '--subject', 'héloïse'], /^keys: --subject must be 1 to 256 printable ASCII/],
    [['create', '--subject', 'key:ci-nightly'], /^keys: --subject is given without key:/],
    [['create', '--subject', 'x'.repeat(253)], /^keys: --subject must be at most 252 characters, so that key:<subject> is at most 256/],
    [['create', '--subject', 'KEY:ci-nightly', '--as-person'], /^keys: --subject is given without key:/],
    [['create', '--subject', 'svc', '--group', 'a,b'], /^keys: group "a,b" must be 1 to 256 printable ASCII characters, without commas/],
    [['create', '--subject', 'svc', '--groups', 'a,,b'], /^keys: group "" must be/],
    [['create', '--subject', 'svc', '--groups', Array.from({ length: 257 }, (_, n) => `g${n}`).join(',')], /^keys: at most 256 groups/],
    [['create', '--subject', 'svc', '--description', 'two\nlines'], /^keys: --description must be 1 to 1000 characters, without control characters/],
    [['create', '--subject', 'svc', '--expires', '0d'], /^keys: --expires "0d" is neither an ISO-8601 date/],
    [['create', '--subject', 'svc', '--expires', 'tomorrow'], /^keys: --expires "tomorrow" is neither/],
    [['create', '--subject', 'svc', '--expires', '2030-02-30'], /^keys: --expires "2030-02-30" is neither/],
    [['create', '--subject', 'svc', '--expires', '2030-13-01'], /^keys: --expires "2030-13-01" is neither/],
    [['create', '--subject', 'svc', '--expires', '2030-06-30T18:00'], /^keys: --expires "2030-06-30T18:00" is neither/],
    [['create', '--subject', 'svc', '--expires', '2029-12-31'], /^keys: --expires 2029-12-31 is not in the future \(now is 2030-01-01T00:00:00\.000Z\)/],
    [['create', '--subject', 'svc', '--expires', NOW.toISOString()], /^keys: --expires \S+ is not in the future/],
    [['revoke', 'cpx_0123456789abcdef'], /^keys: "cpx_0123456789abcdef" is not a key id: 16 hex digits/]
  ]
  for (const [argv, message] of mistakes) {
    const outcome = await keys(argv, { AUDIT_DB_PATH: path })
    t.equal(outcome.code, 2, argv.join(' '))
    t.match(outcome.stderr, message)
    t.equal(outcome.stderr.split('\n').length, 2, 'one line')
    t.equal(outcome.stdout, '')
  }
  t.notOk(existsSync(path), 'the store was never even opened')
})

t.test('a wrong command or option exits 2 with the reason and the usage', async (t) => {
  const path = join(await temporaryDirectory(t), 'proxy.sqlite')
  const mistakes: Array<[string[], RegExp]> = [
    [[], /^keys: a command is needed\n/],
    [['rotate'], /^keys: unknown command "rotate"\n/],
    [['create', '--subject', 'svc', '--admin'], /^keys: Unknown option '--admin'/],
    [['create', '--subject'], /^keys: Option '--subject <value>' argument missing/],
    [['create', '--subject', 'svc', 'stray'], /^keys: Unexpected argument 'stray'/],
    [['list', '--json=yes'], /^keys: Option '--json' does not take an argument/],
    [['revoke'], /^keys: revoke needs exactly one key id\n/],
    [['revoke', '0123456789abcdef', 'fedcba9876543210'], /^keys: revoke needs exactly one key id\n/]
  ]
  for (const [argv, message] of mistakes) {
    const outcome = await keys(argv, { AUDIT_DB_PATH: path })
    t.equal(outcome.code, 2, argv.join(' ') || '(no arguments)')
    t.match(outcome.stderr, message)
    t.ok(outcome.stderr.endsWith(`\n\n${USAGE}`), 'then the usage')
    t.equal(outcome.stdout, '')
  }
  t.notOk(existsSync(path))
})

t.test('help prints the usage on stdout and exits 0', async (t) => {
  for (const help of ['help', '--help', '-h']) {
    t.same(await keys([help], {}), { code: 0, stdout: USAGE, stderr: '' })
  }
  t.match(USAGE, 'create --subject <subject>')
  t.match(USAGE, 'default ./data/codeocean-proxy.sqlite')
})

t.test('a DATABASE_URL that is not PostgreSQL is refused without being echoed', async (t) => {
  const outcome = await keys(['list'], { DATABASE_URL: 'mysql://root:hunter2@db/proxy' })
  t.same(outcome, { code: 1, stdout: '', stderr: 'keys: DATABASE_URL must be a postgres:// URL\n' })
})

t.test('a store that cannot be opened exits 1 with one line, and no password', async (t) => {
  const sqlite = await keys(['list'], { AUDIT_DB_PATH: await temporaryDirectory(t) })
  t.equal(sqlite.code, 1)
  t.match(sqlite.stderr, /^keys: SQLite store: open failed \(E[A-Z]+\); check AUDIT_DB_PATH\n$/, 'the failure, with its error code')

  const url = 'postgres://keeper:hunter2@127.0.0.1:1/test'
  const postgres = await keys(['create', '--subject', 'svc'], { DATABASE_URL: url })
  t.equal(postgres.code, 1)
  t.match(postgres.stderr, /^keys: PostgreSQL store: migrate failed \(ECONNREFUSED\); check DATABASE_URL\n$/)
  t.notOk(postgres.stderr.includes('hunter2') || postgres.stderr.includes('keeper'), 'neither the password nor the URL')
  t.equal(postgres.stdout, '', 'no key is printed that was never stored')
})

t.test('where there is no SQLite database, every command exits 1 with one line, and makes nothing', async (t) => {
  const directory = await temporaryDirectory(t)
  const path = join(directory, 'data', 'proxy.sqlite')
  for (const argv of [['list'], ['create', '--subject', 'svc'], ['revoke', '0123456789abcdef']]) {
    t.same(await keys(argv, { AUDIT_DB_PATH: path }), {
      code: 1,
      stdout: '',
      stderr: `keys: there is no database at ${path}: set AUDIT_DB_PATH to the proxy's (a relative path is read from the current folder); the proxy makes it when it first starts\n`
    }, argv.join(' '))
  }
  t.same(await readdir(directory), [], 'no file, no folder')
  const relative = await keys(['list'], {}, { openStore: async () => { throw new Error('opened') } })
  t.match(relative.stderr, `there is no database at ${join(process.cwd(), 'data', 'codeocean-proxy.sqlite')}:`, 'the default path, as read from this folder')
})

t.test('a demo\'s key is listed as one', async (t) => {
  const path = await startedDatabase(t)
  const store = openSqliteDatabase(path)
  const { row } = await createServiceKey(store, { subject: 'demo-user', groups: ['demo'], realm: 'demo' }, NOW)
  await store.close()
  // In this thread: what is tested is the listing, not the store's worker.
  const inThread = { openStore: async () => openSqliteDatabase(path) }
  const table = await keys(['list'], { AUDIT_DB_PATH: path }, inThread)
  t.same(tableRows(table.stdout), [[row.keyId, 'key:demo-user', 'demo', '2030-01-01T00:00:00Z', '-', '-', 'active (demo only)']])
  t.match(JSON.parse((await keys(['list', '--json'], { AUDIT_DB_PATH: path }, inThread)).stdout), [{ keyId: row.keyId, realm: 'demo', status: 'active' }])
})

t.test('a store failure without an error code still makes one line', async (t) => {
  const failing = async (): Promise<Store> => { throw new StoreError('PostgreSQL store: list service keys failed', { cause: new Error('gone') }) }
  t.same(await keys(['list'], { DATABASE_URL: 'postgres://db/proxy' }, { openStore: failing }),
    { code: 1, stdout: '', stderr: 'keys: PostgreSQL store: list service keys failed; check DATABASE_URL\n' })
})

t.test('a failure that is neither a mistake nor the store\'s propagates as the bug it is', async (t) => {
  const bug = new TypeError('a bug')
  await t.rejects(keys(['list'], { DATABASE_URL: 'postgres://db/proxy' }, { openStore: async () => { throw bug } }), bug)
  const brokenClock: KeysCommandIo = { stdout: process.stdout, stderr: process.stderr, env: {}, get now (): Date { throw bug } }
  await t.rejects(runKeysCommand(['list'], brokenClock), bug)
})

t.test('the command runs only when its module is the program', async (t) => {
  const file = fileURLToPath(KEYS_MODULE)
  t.ok(isEntryPoint(KEYS_MODULE.href, file))
  t.notOk(isEntryPoint(KEYS_MODULE.href, fileURLToPath(import.meta.url)))
  t.notOk(isEntryPoint(KEYS_MODULE.href, undefined), 'node -e, a REPL')
  const link = join(await temporaryDirectory(t), 'codeocean-proxy-keys')
  await symlink(file, link)
  t.ok(isEntryPoint(KEYS_MODULE.href, link), 'started through a link, as npm and the image install bins')
  t.notOk(isEntryPoint(KEYS_MODULE.href, join(tmpdir(), 'no-such-program')), 'a program that is not there')

  let stdout = ''
  const program: Program = { argv: [process.execPath, file, 'help'], env: {}, stdout: { write: (text: string) => { stdout += text } }, stderr: process.stderr }
  await runAsProgram(KEYS_MODULE.href, program)
  t.equal(program.exitCode, 0)
  t.equal(stdout, USAGE)

  const imported: Program = { argv: [process.execPath, fileURLToPath(import.meta.url), 'help'], env: {}, stdout: { write: () => t.fail('wrote') }, stderr: process.stderr }
  await runAsProgram(KEYS_MODULE.href, imported)
  t.equal(imported.exitCode, undefined, 'imported, it does nothing')
})

/** Runs a command in a process of its own, the way an operator does. */
async function spawned (command: string, args: string[], env: Record<string, string>): Promise<Outcome> {
  return await runToEnd(command, args, { HOME: tmpdir(), ...env })
}

t.test('the npm script creates a key and the tsx entry point lists it, on a SQLite file', async (t) => {
  const env = { AUDIT_DB_PATH: await startedDatabase(t) }
  // Exactly what an operator types: KEY=$(npm run -s keys -- create …) must capture the key alone.
  const created = await spawned('npm', ['run', '-s', 'keys', '--', 'create', '--subject', 'ci-runner', '--groups', 'ci,deploy', '--expires', '90d'], env)
  t.equal(created.code, 0, created.stderr)
  t.match(created.stdout, /^cpx_[0-9a-f]{16}_[A-Za-z0-9_-]{43}\n$/)
  t.match(created.stderr, 'shown once: store it now; the proxy keeps only its hash')
  const [, keyId = '', secret = ''] = KEY.exec(created.stdout.trim()) ?? []

  const listed = await spawned(process.execPath, ['--import', 'tsx', 'src/cli/keys.ts', 'list'], env)
  t.equal(listed.code, 0, listed.stderr)
  t.match(listed.stdout, new RegExp(`^${keyId} +key:ci-runner +ci,deploy +\\S+ +\\S+ +- +active$`, 'm'))
  t.notOk(listed.stdout.includes(secret))
})
