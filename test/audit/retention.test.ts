// Retention: records past AUDIT_RETENTION_DAYS go, in batches, and what remains still verifies.
import t from 'tap'
import { TEST_CHAIN_KEY, TEST_CHAIN_KEYS } from '../helpers/secrets.js'
import { startRetention } from '../../src/audit/retention.js'
import { AuditTrail } from '../../src/audit/trail.js'
import { verifyAuditTrail } from '../../src/audit/verify.js'
import { openSqliteDatabase } from '../../src/store/sqlite-database.js'
import { buildTestApp } from '../helpers/app.js'
import { createLogSink } from '../helpers/log-sink.js'
import { startTestSimulator } from '../helpers/simulator.js'

const DAY_MS = 86_400_000

t.test('pruning past retention keeps a suffix of each chain that verifies', async (t) => {
  const store = openSqliteDatabase(':memory:')
  t.teardown(() => store.close())
  const sink = createLogSink()
  // Seven records an hour apart, the last one now.
  let clock = Date.now() - 6 * 3_600_000
  const trail = new AuditTrail({ store, log: sink.logger, chainKey: TEST_CHAIN_KEY, instanceId: 'i', now: () => { const at = clock; clock += 3_600_000; return at } })
  for (let n = 0; n < 7; n++) trail.append('received', `a${n}`, { n })
  await trail.close()

  // A retention of one day, seen from a day less two and a half hours on: the four records
  // older than two and a half hours go (in two batches).
  const retention = startRetention({ store, log: sink.logger, days: 1, batchSize: 3, now: () => Date.now() + DAY_MS - 2.5 * 3_600_000, intervalMs: 60_000 })
  t.teardown(() => retention.stop())
  await retention.pruneNow()
  const kept = await store.readChain('i', 0, 10)
  t.same(kept.map((row) => row.seq), [5, 6, 7])
  t.same(await verifyAuditTrail(store, { keys: TEST_CHAIN_KEYS }), { chains: 1, records: 3 }, 'what remains verifies from its oldest record')
  t.ok(sink.lines().some((line) => line.msg === 'audit records past retention deleted'))
})

t.test('a failed prune is logged and retried later, never thrown', async (t) => {
  const store = openSqliteDatabase(':memory:')
  await store.close()
  const sink = createLogSink()
  const retention = startRetention({ store, log: sink.logger, days: 1, intervalMs: 10 })
  t.teardown(() => retention.stop())
  for (let wait = 0; wait < 100 && !sink.text().includes('could not prune'); wait++) await new Promise((resolve) => setTimeout(resolve, 10))
  t.ok(sink.lines().some((line) => line.level === 50 && line.msg === 'audit retention could not prune; will try again'))
})

t.test('AUDIT_RETENTION_DAYS prunes the app\'s store from start-up', async (t) => {
  const store = openSqliteDatabase(':memory:')
  t.teardown(() => store.close())
  const old = new AuditTrail({ store, log: createLogSink().logger, chainKey: TEST_CHAIN_KEY, instanceId: 'old' })
  old.append('received', 'ancient', {})
  await old.close()
  // Age the record by a year, as if written then.
  const [record] = await store.readChain('old', 0, 1)
  if (record === undefined) throw new Error('no record')
  await store.pruneAudit('1970-01-01T00:00:00.000Z', 1)
  const simulator = await startTestSimulator(t)
  const aged = { ...record, recordedAt: new Date(Date.now() - 365 * DAY_MS).toISOString(), instanceId: 'aged' }
  await store.appendAudit([aged])
  await buildTestApp(t, simulator.url, { AUDIT_RETENTION_DAYS: '30' }, { store })
  for (let wait = 0; wait < 200 && (await store.chainInstances()).includes('aged'); wait++) await new Promise((resolve) => setTimeout(resolve, 10))
  t.same(await store.chainInstances(), ['old'], 'the year-old record is gone, the fresh one kept')
})

t.test('a prune says how many records went and from before when, and one that removes nothing says nothing', async (t) => {
  const store = openSqliteDatabase(':memory:')
  t.teardown(() => store.close())
  const sink = createLogSink()
  let clock = Date.now() - 3 * DAY_MS
  const trail = new AuditTrail({ store, log: sink.logger, chainKey: TEST_CHAIN_KEY, instanceId: 'i', now: () => { const at = clock; clock += 3_600_000; return at } })
  for (let n = 0; n < 2; n++) trail.append('received', `a${n}`, { n })
  await trail.close()
  const now = Date.now()
  const retention = startRetention({ store, log: sink.logger, days: 1, intervalMs: 3_600_000, now: () => now })
  t.teardown(() => retention.stop())
  t.equal(await retention.pruneNow(), 2, 'the prune begun at start-up')
  t.equal(await retention.pruneNow(), 0, 'a later prune runs again, and finds nothing')
  const lines = sink.lines().filter((line) => String(line.msg).includes('retention'))
  t.match(lines, [{ level: 30, msg: 'audit records past retention deleted', pruned: 2, before: new Date(now - DAY_MS).toISOString() }])
  t.equal(lines.length, 1)
})

t.test('a failed prune is logged with its error', async (t) => {
  const store = openSqliteDatabase(':memory:')
  await store.close()
  const sink = createLogSink()
  const retention = startRetention({ store, log: sink.logger, days: 1, intervalMs: 3_600_000 })
  t.teardown(() => retention.stop())
  for (let wait = 0; wait < 100 && !sink.text().includes('could not prune'); wait++) await new Promise((resolve) => setTimeout(resolve, 10))
  t.match(sink.lines().find((line) => line.level === 50), { err: { message: String } })
})
