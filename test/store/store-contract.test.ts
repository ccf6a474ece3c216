// The store contract, run against SQLite and PostgreSQL alike.
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import Database from 'better-sqlite3'
import pg from 'pg'
import t from 'tap'
import { MIGRATIONS, MIGRATIONS_TABLE } from '../../src/store/migrations.js'
import { openPostgresStore } from '../../src/store/postgres.js'
import { openSqliteStore, preloadsOf } from '../../src/store/sqlite.js'
import { StoreError, type AuditRow, type OwnerRow, type ServiceKeyRow } from '../../src/store/store.js'
import { openStore } from '../../src/store/open.js'
import { runToEnd } from '../helpers/spawn-child.js'
import { forEachStore, TEST_DATABASE_URL, type StoreFactory } from '../helpers/stores.js'

function row (instanceId: string, seq: number, overrides: Partial<AuditRow> = {}): AuditRow {
  return {
    instanceId,
    seq,
    auditId: `audit-${instanceId}-${seq}`,
    stage: seq % 2 === 1 ? 'received' : 'completed',
    recordedAt: new Date(Date.UTC(2026, 10, 25, 12, 0, seq)).toISOString(),
    body: JSON.stringify({ seq, note: 'ünïcode and "quotes"' }),
    prevHash: `hash-${seq - 1}`,
    hash: `hash-${seq}`,
    action: seq % 2 === 1 ? 'getComputation' : 'runCapsule',
    computationId: `computation-${seq % 3}`,
    capsuleId: null,
    pipelineId: seq === 2 ? 'pipeline-x' : null,
    status: seq % 2 === 1 ? null : 200 + seq,
    actor: seq === 3 ? 'alice@example.com' : null,
    resumeRunId: seq === 4 ? 'computation-0' : null,
    ...overrides
  }
}

forEachStore(t, 'appended records read back exactly, in chain order', async (t, stores) => {
  const store = await stores.open()
  t.equal(await store.chainHead('a'), undefined, 'an empty chain has no head')
  await store.appendAudit([row('a', 1), row('a', 2)])
  await store.appendAudit([row('a', 3)])
  await store.appendAudit([row('b', 1)])
  t.same(await store.readChain('a', 0, 10), [row('a', 1), row('a', 2), row('a', 3)])
  t.same(await store.readChain('a', 1, 1), [row('a', 2)], 'paged by seq')
  t.same(await store.chainHead('a'), { seq: 3, hash: 'hash-3' })
  t.same(await store.chainInstances(), ['a', 'b'])
  await store.ping()
})

forEachStore(t, 'records are found by their columns, in time order, a page at a time', async (t, stores) => {
  const store = await stores.open()
  await store.appendAudit([row('a', 1), row('a', 2), row('a', 3), row('a', 4)])
  await store.appendAudit([row('b', 1), row('b', 2)])
  const keys = (rows: AuditRow[]): string[] => rows.map((found) => `${found.instanceId}${found.seq}`)
  t.same(keys(await store.queryAudit({ limit: 10 })), ['a1', 'b1', 'a2', 'b2', 'a3', 'a4'], 'by time, then instance, then seq')
  t.same(keys(await store.queryAudit({ action: 'runCapsule', limit: 10 })), ['a2', 'b2', 'a4'])
  t.same(keys(await store.queryAudit({ stage: 'received', limit: 10 })), ['a1', 'b1', 'a3'])
  t.same(keys(await store.queryAudit({ computationId: 'computation-1', limit: 10 })), ['a1', 'b1', 'a4'])
  t.same(keys(await store.queryAudit({ pipelineId: 'pipeline-x', limit: 10 })), ['a2', 'b2'])
  t.same(keys(await store.queryAudit({ capsuleId: 'none', limit: 10 })), [])
  t.same(keys(await store.queryAudit({ actor: 'alice@example.com', limit: 10 })), ['a3'])
  t.same(keys(await store.queryAudit({ resumeRunId: 'computation-0', limit: 10 })), ['a4'], 'by the run it resumes')
  t.same(keys(await store.queryAudit({ statusFrom: 203, statusTo: 299, limit: 10 })), ['a4'])
  t.same(keys(await store.queryAudit({ since: row('a', 2).recordedAt, until: row('a', 4).recordedAt, limit: 10 })), ['a2', 'b2', 'a3'])
  const first = await store.queryAudit({ limit: 2 })
  const last = first.at(-1)
  if (last === undefined) throw new Error('no page')
  t.same(keys(await store.queryAudit({ after: { recordedAt: last.recordedAt, instanceId: last.instanceId, seq: last.seq }, limit: 3 })), ['a2', 'b2', 'a3'], 'the next page')
  t.same((await store.queryAudit({ limit: 1 }))[0], row('a', 1), 'whole rows come back')
})

forEachStore(t, 'pruning deletes the oldest records first, a batch at a time', async (t, stores) => {
  const store = await stores.open()
  await store.appendAudit([row('a', 1), row('a', 2), row('a', 3), row('a', 4)])
  await store.appendAudit([row('b', 1), row('b', 2)])
  const before = row('a', 3).recordedAt
  t.equal(await store.pruneAudit(before, 3), 3)
  t.equal(await store.pruneAudit(before, 3), 1)
  t.equal(await store.pruneAudit(before, 3), 0)
  t.same((await store.queryAudit({ limit: 10 })).map((found) => `${found.instanceId}${found.seq}`), ['a3', 'a4'])
})

forEachStore(t, 'a batch that would fork a chain is refused whole', async (t, stores) => {
  const store = await stores.open()
  await store.appendAudit([row('a', 1)])
  await t.rejects(store.appendAudit([row('a', 2), row('a', 1, { hash: 'forged' })]), StoreError)
  t.same(await store.readChain('a', 0, 10), [row('a', 1)], 'nothing of the batch was written')
})

forEachStore(t, 'appending a batch that is already stored, as after a lost commit answer, is a no-op', async (t, stores) => {
  const store = await stores.open()
  await store.appendAudit([row('a', 1), row('a', 2)])
  await store.appendAudit([row('a', 1), row('a', 2)])
  await store.appendAudit([row('a', 2), row('a', 3)])
  t.same(await store.readChain('a', 0, 10), [row('a', 1), row('a', 2), row('a', 3)], 'each record once; the new one added')
  await t.rejects(store.appendAudit([row('a', 3), row('a', 4, { hash: 'x' }), row('a', 2, { hash: 'forged' })]), StoreError, 'a stored seq with another hash still fails the batch')
  t.same(await store.readChain('a', 0, 10), [row('a', 1), row('a', 2), row('a', 3)], 'and nothing of it was written')
})

forEachStore(t, 'migrations run once, however many handles open the database', async (t, stores) => {
  const handles = await Promise.all([stores.open(), stores.open(), stores.open()])
  await handles[0]?.appendAudit([row('a', 1)])
  const reopened = await stores.open()
  t.same(await reopened.readChain('a', 0, 10), [row('a', 1)], 'data survives reopening')
  t.equal(MIGRATIONS.length, 7)
})

/** A database as a proxy of schema version `version` left it, holding what `seed` inserts. */
async function databaseAt (stores: StoreFactory, version: number, seed: string[]): Promise<void> {
  const statements = [MIGRATIONS_TABLE, ...MIGRATIONS.filter((migration) => migration.version <= version).flatMap((migration) => [
    ...migration.statements,
    `INSERT INTO schema_migrations (version, name, applied_at) VALUES (${migration.version}, 'as before', '2026-01-01T00:00:00.000Z')`
  ]), ...seed]
  if (stores.name === 'sqlite') {
    await mkdir(dirname(stores.path!), { recursive: true })
    const db = new Database(stores.path!)
    for (const statement of statements) db.exec(statement)
    db.close()
    return
  }
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL })
  await client.connect()
  try {
    await client.query(`CREATE SCHEMA ${stores.schema!}; SET search_path = ${stores.schema!}`)
    for (const statement of statements) await client.query(statement)
  } finally {
    await client.end()
  }
}

forEachStore(t, 'upgrading puts every existing key in the namespace of keys, and marks existing owners as recorded before it', async (t, stores) => {
  await databaseAt(stores, 6, [
    "INSERT INTO service_keys (key_id, subject, groups_json, secret_hash, created_at, realm) VALUES ('0123456789abcdef', 'ci-nightly', '[]', 'h', '2026-01-01T00:00:00.000Z', 'proxy')",
    "INSERT INTO computation_owners (computation_id, subject, groups_json, capsule_id, created_at) VALUES ('c-before', 'ci-nightly', '[]', 'capsule-1', '2026-01-01T00:00:00.000Z')",
    "INSERT INTO computation_owners (computation_id, subject, groups_json, capsule_id, created_at) VALUES ('c-alice', 'alice', '[]', 'capsule-1', '2026-01-01T00:00:00.000Z')"
  ])
  const store = await stores.open()
  t.equal((await store.findServiceKey('0123456789abcdef'))?.subject, 'key:ci-nightly')
  t.equal((await store.ownersOf(['c-before'])).get('c-before')?.namespaced, false, 'an owner recorded before under a key\'s bare subject may be that key\'s')
  t.equal((await store.ownersOf(['c-alice'])).get('c-alice')?.namespaced, true, 'one no key had the subject of is a person\'s: no key made later owns it')
  await store.recordOwner({ computationId: 'c-after', subject: 'key:ci-nightly', groups: [], capsuleId: 'capsule-1', pipelineId: null, createdAt: '2026-02-01T00:00:00.000Z', namespaced: true })
  t.equal((await store.ownersOf(['c-after'])).get('c-after')?.namespaced, true)
  await store.recordOwner({ computationId: 'c-legacy', subject: 'old', groups: [], capsuleId: null, pipelineId: 'pipeline-1', createdAt: '2026-02-01T00:00:00.000Z', namespaced: false })
  t.equal((await store.ownersOf(['c-legacy'])).get('c-legacy')?.namespaced, false, 'the mark is stored as given')
  const reopened = await stores.open()
  t.equal((await reopened.findServiceKey('0123456789abcdef'))?.subject, 'key:ci-nightly', 'the namespace is added once')
})

function serviceKey (keyId: string, overrides: Partial<ServiceKeyRow> = {}): ServiceKeyRow {
  return {
    keyId,
    subject: `svc-${keyId}`,
    groups: ['team-a', 'grüppe "b"'],
    description: keyId === 'k1' ? 'nightly pipeline' : null,
    secretHash: `hash-of-${keyId}`,
    createdAt: `2026-11-26T10:00:0${keyId.slice(1)}.000Z`,
    expiresAt: keyId === 'k2' ? '2027-01-01T00:00:00.000Z' : null,
    revokedAt: null,
    lastUsedAt: null,
    realm: keyId === 'k2' ? 'demo' : 'proxy',
    ...overrides
  }
}

forEachStore(t, 'service keys are created, found, listed, revoked once and touched', async (t, stores) => {
  const store = await stores.open()
  await store.createServiceKey(serviceKey('k2'))
  await store.createServiceKey(serviceKey('k1'))
  await t.rejects(store.createServiceKey(serviceKey('k1', { subject: 'someone else' })), StoreError, 'a key id is never reused')
  t.same(await store.findServiceKey('k1'), serviceKey('k1'))
  t.equal(await store.findServiceKey('k3'), undefined)
  t.same((await store.listServiceKeys()).map((key) => key.keyId), ['k1', 'k2'], 'oldest first')
  t.equal(await store.revokeServiceKey('k1', '2026-11-26T11:00:00.000Z'), true)
  t.equal(await store.revokeServiceKey('k1', '2026-11-26T12:00:00.000Z'), false, 'already revoked')
  t.equal(await store.revokeServiceKey('k3', '2026-11-26T12:00:00.000Z'), false, 'no such key')
  await store.touchServiceKey('k2', '2026-11-26T11:30:00.000Z')
  t.same(await store.findServiceKey('k1'), serviceKey('k1', { revokedAt: '2026-11-26T11:00:00.000Z' }), 'the first revocation time stays')
  t.same(await store.findServiceKey('k2'), serviceKey('k2', { lastUsedAt: '2026-11-26T11:30:00.000Z' }))
})

forEachStore(t, 'a key stored before keys named their realm is the proxy\'s, and no other realm can be stored', async (t, stores) => {
  const store = await stores.open()
  // Written as a proxy of the previous release wrote it: without the realm column.
  const columns = 'key_id, subject, groups_json, secret_hash, created_at'
  const values = ['k9', 'svc-old', '[]', 'hash-of-k9', '2026-11-26T10:00:00.000Z']
  if (stores.name === 'sqlite') {
    const database = new Database(stores.path!)
    t.teardown(() => database.close())
    database.prepare(`INSERT INTO service_keys (${columns}) VALUES (?, ?, ?, ?, ?)`).run(...values)
  } else {
    const client = new pg.Client({ connectionString: TEST_DATABASE_URL })
    await client.connect()
    t.teardown(() => client.end())
    await client.query(`INSERT INTO ${stores.schema!}.service_keys (${columns}) VALUES ($1, $2, $3, $4, $5)`, values)
  }
  t.equal((await store.findServiceKey('k9'))?.realm, 'proxy')
  await t.rejects(store.createServiceKey(serviceKey('k8', { realm: 'elsewhere' as ServiceKeyRow['realm'] })), StoreError)
})

forEachStore(t, 'computation owners: the first record wins and lookups take many ids', async (t, stores) => {
  const store = await stores.open()
  const owner = (computationId: string, subject: string): OwnerRow => ({
    computationId, subject, groups: ['team-a'], capsuleId: 'capsule-1', pipelineId: null, createdAt: '2026-11-26T10:00:00.000Z', namespaced: true
  })
  await store.recordOwner(owner('c1', 'alice'))
  await store.recordOwner(owner('c1', 'mallory'))
  await store.recordOwner({ ...owner('c2', 'bob'), capsuleId: null, pipelineId: 'pipeline-1', groups: [] })
  const ids = Array.from({ length: 1200 }, (_, index) => `missing-${index}`)
  const found = await store.ownersOf(['c1', ...ids, 'c2'])
  t.same([...found.keys()].sort(), ['c1', 'c2'], 'ids past the first lookup chunk are found too')
  t.same(found.get('c1'), owner('c1', 'alice'))
  t.same(found.get('c2'), { ...owner('c2', 'bob'), capsuleId: null, pipelineId: 'pipeline-1', groups: [] })
  t.same(await store.ownersOf([]), new Map())
})

forEachStore(t, 'a closed store fails with StoreError', async (t, stores) => {
  const store = await stores.open()
  await store.close()
  await t.rejects(store.ping(), StoreError)
  await t.rejects(store.appendAudit([row('a', 1)]), StoreError)
  await t.rejects(store.chainHead('a'), StoreError)
  await t.rejects(store.readChain('a', 0, 1), StoreError)
  await t.rejects(store.chainInstances(), StoreError)
  await t.rejects(store.queryAudit({ limit: 1 }), StoreError)
  await t.rejects(store.pruneAudit('2026-01-01T00:00:00.000Z', 1), StoreError)
  await t.rejects(store.createServiceKey(serviceKey('k1')), StoreError)
  await t.rejects(store.findServiceKey('k1'), StoreError)
  await t.rejects(store.listServiceKeys(), StoreError)
  await t.rejects(store.revokeServiceKey('k1', '2026-01-01T00:00:00.000Z'), StoreError)
  await t.rejects(store.touchServiceKey('k1', '2026-01-01T00:00:00.000Z'), StoreError)
  await t.rejects(store.recordOwner({ computationId: 'c', subject: 's', groups: [], capsuleId: null, pipelineId: null, createdAt: '2026-01-01T00:00:00.000Z', namespaced: true }), StoreError)
  await t.rejects(store.ownersOf(['c']), StoreError)
  await t.rejects(store.claimIdempotencyKey({
    subject: 's', key: 'k', requestHash: 'h', state: 'in_flight', status: null, headers: null, body: null, computationId: null,
    createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z', expiresAt: '2026-01-02T00:00:00.000Z'
  }), StoreError)
  await t.rejects(store.settleIdempotencyKey('s', 'k', { state: 'unknown', status: null, headers: null, body: null, computationId: null, at: '2026-01-01T00:00:00.000Z' }), StoreError)
  await t.rejects(store.releaseIdempotencyKey('s', 'k'), StoreError)
  await t.rejects(store.pruneIdempotencyKeys('2026-01-01T00:00:00.000Z', 1), StoreError)
  await store.close()
})

t.test('openStore opens the configured kind', async (t) => {
  const sqlite = await openStore({ kind: 'sqlite', path: ':memory:' })
  t.equal(sqlite.kind, 'sqlite')
  await sqlite.close()
  // Its own schema, named through the URL as an operator might, so the shared database stays clean.
  const schema = `test_open_${process.pid}`
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL })
  await admin.connect()
  t.teardown(async () => { await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`); await admin.end() })
  await admin.query(`CREATE SCHEMA ${schema}`)
  const postgres = await openStore({ kind: 'postgres', url: `${TEST_DATABASE_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}` })
  t.equal(postgres.kind, 'postgres')
  await postgres.appendAudit([row('a', 1)])
  await postgres.close()
  const { rows } = await admin.query(`SELECT count(*)::int AS n FROM ${schema}.audit_records`)
  t.same(rows, [{ n: 1 }])
})

t.test('an unreachable PostgreSQL fails to open with StoreError, promptly', async (t) => {
  await t.rejects(openPostgresStore({ connectionString: 'postgres://postgres@127.0.0.1:1/test' }), StoreError)
  await t.rejects(openPostgresStore({ connectionString: 'postgres://postgres@127.0.0.1:1/test', schema: 'Bad-Name' }), TypeError)
})

t.test('an unusable SQLite path fails to open with StoreError', async (t) => {
  const directory = await mkdtemp(join(tmpdir(), 'codeocean-proxy-store-'))
  t.teardown(() => rm(directory, { recursive: true, force: true }))
  await writeFile(join(directory, 'a-file'), '')
  await t.rejects(openSqliteStore(join(directory, 'a-file', 'data', 'proxy.sqlite')), StoreError)
})

t.test('a SQLite store whose worker does not report the database open in time fails to open with StoreError', async (t) => {
  // No worker thread starts, loads its modules and opens a file within a millisecond.
  await t.rejects(openSqliteStore(':memory:', { openTimeoutMs: 1 }), { name: 'StoreError', cause: { message: 'the database did not open within 1 ms' } })
})

t.test('a SQLite database, its WAL and the folder made for it are readable by their owner only', async (t) => {
  const directory = await mkdtemp(join(tmpdir(), 'codeocean-proxy-store-'))
  t.teardown(() => rm(directory, { recursive: true, force: true }))
  const path = join(directory, 'made', 'proxy.sqlite')
  const previous = process.umask(0o022)
  t.teardown(() => process.umask(previous))
  const store = await openSqliteStore(path)
  t.teardown(() => store.close())
  await store.appendAudit([row('a', 1)])
  const mode = async (file: string): Promise<number> => (await stat(file)).mode & 0o777
  t.equal(await mode(join(directory, 'made')), 0o700, 'the folder')
  t.equal(await mode(path), 0o600, 'the database')
  t.equal(await mode(`${path}-wal`), 0o600, 'its write-ahead log')
  t.equal(await mode(`${path}-shm`), 0o600, 'its shared memory index')
})

t.test('closing a SQLite store with a call in flight waits for the worker to end, even with nothing else to keep the process alive', async (t) => {
  for (let run = 0; run < 3; run++) {
    const ran = await runToEnd(process.execPath, ['--import', 'tsx', 'test/fixtures/closing-store.ts'], {}, 60_000)
    t.equal(ran.stdout, 'closed; the call in flight answered number\n', `run ${run + 1}: closing finished, and the call was answered`)
    t.equal(ran.code, 0)
  }
})

t.test('the SQLite worker is given the loaders this process was started with, tsx as its API', async (t) => {
  const tsxApi = import.meta.resolve('tsx/esm/api')
  const loader = import.meta.url
  t.same(preloadsOf(['--enable-source-maps', '--import', 'tsx', `--import=${loader}`, '--require', 'x']), [tsxApi, loader])
  t.same(preloadsOf(['--import', import.meta.resolve('tsx')]), [tsxApi], 'the tsx command\'s loader too')
  t.same(preloadsOf([]), [], 'none for a built process')
})
