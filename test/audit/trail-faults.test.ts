// The audit trail itself while its store fails, reproduced for real: PostgreSQL behind a TCP
// relay that refuses and cuts connections, or loses a COMMIT's answer. A failed write keeps its
// records and says why; the trail writes them by itself, within its retry bound, once the store
// is back; closing tries twice and reports what it lost; the queue's bound is never exceeded.
import { performance } from 'node:perf_hooks'
import t, { type Test } from 'tap'
import { AuditTrail } from '../../src/audit/trail.js'
import { verifyAuditTrail } from '../../src/audit/verify.js'
import { openStore } from '../../src/store/open.js'
import { openSqliteDatabase } from '../../src/store/sqlite-database.js'
import type { Store } from '../../src/store/store.js'
import { createLogSink, type LogSink } from '../helpers/log-sink.js'
import { TEST_CHAIN_KEY, TEST_CHAIN_KEYS } from '../helpers/secrets.js'
import { postgresSchema, TEST_DATABASE_URL } from '../helpers/stores.js'
import { startTcpRelay, type TcpRelay } from '../helpers/tcp-relay.js'

const RETRY_BOUND_MS = 100

/** A PostgreSQL store in a schema of its own, reached through a relay the test controls. */
async function relayedStore (t: Test): Promise<{ store: Store, relay: TcpRelay }> {
  const direct = new URL(TEST_DATABASE_URL)
  const relay = await startTcpRelay(t, { host: direct.hostname, port: Number(direct.port || 5432) })
  const { url } = await postgresSchema(t, relay.port)
  const store = await openStore({ kind: 'postgres', url, timeoutMs: 2000 })
  t.teardown(() => store.close())
  return { store, relay }
}

/** The store unreachable: every connection cut, new ones closed at once. */
function breakStore (relay: TcpRelay): void {
  relay.refuse()
  relay.cut()
}

/** Waits, 10 ms at a time, until `ready` holds (at most `ms`); returns whether it did. */
async function eventually (ready: () => boolean, ms = 5000): Promise<boolean> {
  for (let waited = 0; waited < ms && !ready(); waited += 10) await new Promise((resolve) => setTimeout(resolve, 10))
  return ready()
}

function failedWrites (sink: LogSink): Array<Record<string, unknown>> {
  return sink.lines().filter((line) => line.msg === 'audit records could not be written; they stay queued')
}

t.test('a failed write keeps its records and says why; the trail writes them by itself once the store is back', async (t) => {
  const { store, relay } = await relayedStore(t)
  const sink = createLogSink()
  const trail = new AuditTrail({ store, log: sink.logger, instanceId: 'healing', maxRetryDelayMs: RETRY_BOUND_MS })
  t.teardown(() => trail.close())
  t.equal(trail.failure, undefined, 'a new trail has no failure')

  breakStore(relay)
  const seq = trail.append('received', 'a1', { n: 1 })
  const refusal = await trail.flushThrough(seq).then(() => undefined, (error: unknown) => error as Error)
  t.match(refusal, { name: 'AuditUnavailableError', message: 'the audit trail cannot be written' }, 'a change waiting for its record is told it cannot be written')
  t.ok(trail.failure instanceof Error, 'the trail says why writes fail')
  t.equal(refusal?.cause, trail.failure, 'and so does the refusal')
  t.equal(trail.queued, 1, 'the record stays queued')
  t.match(failedWrites(sink)[0], { level: 50, queued: 1, err: { message: String } })
  trail.append('completed', 'a1', { n: 2 })

  relay.accept()
  t.ok(await eventually(() => trail.failure === undefined), 'with nothing else asked of it, the trail wrote its records again')
  t.equal(trail.queued, 0)
  t.same((await store.readChain('healing', 0, 10)).map((row) => [row.seq, row.stage]), [[1, 'received'], [2, 'completed']], 'both records, once each, in order')
  t.match(sink.lines().find((line) => line.msg === 'audit records are being written again'), { level: 30, queued: 0 }, 'and says so')
  await trail.flushThrough(trail.append('received', 'a2', { n: 3 }))
  t.equal(sink.lines().filter((line) => line.msg === 'audit records are being written again').length, 1, 'once: a write after that is nothing to say')
})

t.test('the trail does not hammer a store that is down: its tries back off to one per maxRetryDelayMs', async (t) => {
  const { store, relay } = await relayedStore(t)
  const sink = createLogSink()
  const trail = new AuditTrail({ store, log: sink.logger, instanceId: 'backing-off', maxRetryDelayMs: RETRY_BOUND_MS })
  breakStore(relay)
  const started = performance.now()
  trail.append('received', 'a1', {})
  await new Promise((resolve) => setTimeout(resolve, 1000))
  const tries = failedWrites(sink).length
  const elapsed = performance.now() - started
  // Tries 50 ms apart, then 100: a machine that is slow only makes fewer of them.
  t.ok(tries >= 2, `it kept trying (${tries} tries)`)
  t.ok(tries <= elapsed / RETRY_BOUND_MS + 2, `${tries} tries in ${Math.round(elapsed)} ms: at most one per ${RETRY_BOUND_MS} ms after the first`)
  relay.accept()
  await trail.close()
})

t.test('however long the store was down, the trail heals within its retry bound once it is back', async (t) => {
  const { store, relay } = await relayedStore(t)
  const sink = createLogSink()
  const trail = new AuditTrail({ store, log: sink.logger, instanceId: 'long-outage', maxRetryDelayMs: RETRY_BOUND_MS })
  t.teardown(() => trail.close())
  breakStore(relay)
  trail.append('received', 'a1', {})
  // Twelve failed tries: a delay that kept doubling past its bound would now be minutes long.
  t.ok(await eventually(() => failedWrites(sink).length >= 12, 30_000), 'the trail kept trying on its own')
  relay.accept()
  // The bound is 100 ms; 5 s leaves room for a busy machine, and none for an unbounded backoff.
  t.ok(await eventually(() => trail.failure === undefined, 5000), 'it wrote its record within the bound')
  t.same((await store.readChain('long-outage', 0, 10)).map((row) => row.seq), [1])
})

t.test('closing tries twice: a COMMIT whose answer was lost is written once, and nothing is reported lost', async (t) => {
  const { store, relay } = await relayedStore(t)
  const sink = createLogSink()
  const trail = new AuditTrail({ store, log: sink.logger, instanceId: 'lost-answer', chainKey: TEST_CHAIN_KEY, maxRetryDelayMs: RETRY_BOUND_MS })
  trail.append('received', 'a1', { n: 1 })
  trail.append('completed', 'a1', { n: 2 })
  relay.loseNextCommitAnswer()
  await trail.close()
  t.equal(relay.lostCommits, 1, 'the first try committed, and its answer was lost')
  t.equal(failedWrites(sink).length, 1, 'the first try failed as far as the trail could tell')
  t.same((await store.readChain('lost-answer', 0, 10)).map((row) => row.seq), [1, 2], 'the second try wrote nothing twice')
  t.same(await verifyAuditTrail(store, { keys: TEST_CHAIN_KEYS }), { chains: 1, records: 2 })
  t.same(sink.lines().filter((line) => Number(line.level) >= 50 && line.msg !== 'audit records could not be written; they stay queued'), [], 'nothing reported lost')
})

t.test('closing with the store gone tries twice, vouches for what was written, reports the rest lost, and then writes nothing', async (t) => {
  const { store, relay } = await relayedStore(t)
  const sink = createLogSink()
  const trail = new AuditTrail({ store, log: sink.logger, instanceId: 'gone', chainKey: TEST_CHAIN_KEY, checkpointLog: sink.logger, maxRetryDelayMs: RETRY_BOUND_MS })
  await trail.flushThrough(trail.append('received', 'a1', {}))
  breakStore(relay)
  trail.append('completed', 'a1', {})
  trail.append('completed', 'a2', {})
  const before = failedWrites(sink).length
  const lost = await trail.close().then(() => undefined, (error: unknown) => error as Error)
  t.match(lost, { name: 'AuditRecordsLostError', lost: 2, message: '2 audit records could not be written before shutdown', cause: Error })
  t.equal(failedWrites(sink).length - before, 2, 'two tries at closing, no more')
  t.match(sink.lines().find((line) => line.msg === 'audit records lost at shutdown: the store could not be written'), { level: 50, lost: 2 })
  const checkpoints = sink.lines().filter((line) => line.auditCheckpoint !== undefined)
  t.match(checkpoints, [{ msg: 'audit checkpoint', auditCheckpoint: { instanceId: 'gone', seq: 1 } }], 'the checkpoint vouches for the record that was written, and for nothing after it')

  // A closed trail schedules no more tries, even once the store is back.
  relay.accept()
  await new Promise((resolve) => setTimeout(resolve, RETRY_BOUND_MS * 5))
  t.same((await store.readChain('gone', 0, 10)).map((row) => row.seq), [1], 'nothing was written after close gave up')
})

t.test('a place given back that was never reserved does not make room beyond the queue limit', async (t) => {
  const store = openSqliteDatabase(':memory:')
  t.teardown(() => store.close())
  const trail = new AuditTrail({ store, log: createLogSink().logger, instanceId: 'bounded', maxQueued: 2 })
  t.equal(trail.queueLimit, 2)
  trail.release()
  trail.append('received', 'a1', {})
  trail.reserve()
  t.throws(() => trail.append('received', 'a2', {}), { name: 'AuditUnavailableError' }, 'the reserved place is not for just anyone')
  t.throws(() => { trail.reserve() }, { name: 'AuditUnavailableError' }, 'nor is there room for another reservation')
  trail.append('completed', 'a1', {}, true)
  t.equal(trail.queued, 2)
  t.throws(() => trail.append('received', 'a3', {}), { name: 'AuditUnavailableError' }, 'two queued: full')
  await trail.close()
  t.same((await store.readChain('bounded', 0, 10)).map((row) => row.seq), [1, 2], 'a refused record takes no sequence number')
})

t.test('a record appended without a reserved place gives back no one else\'s', async (t) => {
  const store = openSqliteDatabase(':memory:')
  t.teardown(() => store.close())
  const trail = new AuditTrail({ store, log: createLogSink().logger, instanceId: 'kept', maxQueued: 3 })
  trail.reserve()
  trail.append('received', 'a1', {})
  trail.append('received', 'a2', {})
  t.throws(() => trail.append('received', 'a3', {}), { name: 'AuditUnavailableError' }, 'the last place is still the reserved one')
  trail.append('completed', 'a1', {}, true)
  t.equal(trail.queued, 3, 'and its record takes it')
  await trail.close()
})

t.test('flushing an empty trail writes nothing and is no failure', async (t) => {
  const store = openSqliteDatabase(':memory:')
  t.teardown(() => store.close())
  let writes = 0
  const counted: Store = { ...store, appendAudit: async (rows) => { writes++; await store.appendAudit(rows) } }
  const trail = new AuditTrail({ store: counted, log: createLogSink().logger, instanceId: 'empty' })
  await trail.flush()
  await trail.flushThrough(0)
  t.equal(writes, 0)
  t.equal(trail.failure, undefined)
  await trail.close()
})
