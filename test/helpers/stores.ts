// The two store adapters, each opened fresh for one test: a SQLite file in a temporary folder,
// and a PostgreSQL schema of its own in the machine's database (TEST_DATABASE_URL), dropped after.
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import type { Test } from 'tap'
import type { OwnerRow } from '../../src/store/ownership-store.js'
import { openPostgresStore } from '../../src/store/postgres.js'
import { openSqliteStore } from '../../src/store/sqlite.js'
import type { Store } from '../../src/store/store.js'

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

/** An owner row for `computationId`, started by `subject` (no groups), as a run leaves it. */
export const ownerRow = (computationId: string, subject = 'alice'): OwnerRow => ({
  computationId, subject, groups: [], capsuleId: 'capsule-1', pipelineId: null, createdAt: '2026-12-07T10:00:00.000Z', namespaced: true
})

export interface StoreFactory {
  name: 'sqlite' | 'postgres'
  /** The SQLite file (sqlite) */
  path?: string
  /** The PostgreSQL schema (postgres) */
  schema?: string
  /** Opens the test's store; every call opens another handle on the same database. */
  open (): Promise<Store>
}

async function sqliteFactory (t: Test): Promise<StoreFactory> {
  const directory = await mkdtemp(join(tmpdir(), 'codeocean-proxy-store-'))
  t.teardown(() => rm(directory, { recursive: true, force: true }))
  const path = join(directory, 'data', 'proxy.sqlite')
  return {
    name: 'sqlite',
    path,
    async open () {
      const store = await openSqliteStore(path)
      t.teardown(() => store.close())
      return store
    }
  }
}

async function postgresFactory (t: Test): Promise<StoreFactory> {
  const schema = `test_${randomBytes(6).toString('hex')}`
  t.teardown(async () => {
    const client = new pg.Client({ connectionString: TEST_DATABASE_URL })
    await client.connect()
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
    await client.end()
  })
  return {
    name: 'postgres',
    schema,
    async open () {
      const store = await openPostgresStore({ connectionString: TEST_DATABASE_URL, schema, connections: 2 })
      t.teardown(() => store.close())
      return store
    }
  }
}

/**
 * A PostgreSQL schema of its own, created now and dropped after the test, and the URL that reaches
 * it (its search_path set), for a process or store the test configures by URL; with `port`, the
 * URL goes to 127.0.0.1:port instead (a relay in front of the database).
 */
export async function postgresSchema (t: Test, port?: number): Promise<{ schema: string, url: string }> {
  const schema = `test_${randomBytes(6).toString('hex')}`
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL })
  await admin.connect()
  t.teardown(async () => {
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
    await admin.end()
  })
  await admin.query(`CREATE SCHEMA ${schema}`)
  const url = new URL(TEST_DATABASE_URL)
  if (port !== undefined) {
    url.hostname = '127.0.0.1'
    url.port = String(port)
  }
  url.searchParams.set('options', `-c search_path=${schema}`)
  return { schema, url: url.href }
}

/** Runs `body` once per adapter, as subtests named after it. */
export function forEachStore (t: Test, name: string, body: (t: Test, stores: StoreFactory) => Promise<void>): void {
  for (const make of [sqliteFactory, postgresFactory]) {
    t.test(`${name} (${make === sqliteFactory ? 'sqlite' : 'postgres'})`, async (t) => {
      await body(t, await make(t))
    })
  }
}
