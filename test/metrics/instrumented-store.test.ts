// The store as the app uses it, timed: every operation of every slice reaches the real store with
// its arguments, answers what the store answered, and is counted under its own name, failures too.
import t from 'tap'
import { claimFor } from '../../src/idempotency/idempotency.js'
import { instrumentStore } from '../../src/metrics/instrumented-store.js'
import { ProxyMetrics } from '../../src/metrics/metrics.js'
import { openSqliteDatabase } from '../../src/store/sqlite-database.js'
import { StoreError, type AuditRow, type OwnerRow, type ServiceKeyRow } from '../../src/store/store.js'
import { parsePrometheusText, sampleValue } from '../helpers/prometheus.js'

const CALLS = 'codeocean_proxy_store_duration_seconds_count'
const ERRORS = 'codeocean_proxy_store_errors_total'

const record: AuditRow = {
  instanceId: 'instance-a',
  seq: 1,
  auditId: 'audit-1',
  stage: 'received',
  recordedAt: '2026-11-26T10:00:00.000Z',
  body: '{"seq":1}',
  prevHash: 'anchor',
  hash: 'hash-1',
  action: 'getComputation',
  computationId: 'computation-1',
  capsuleId: null,
  pipelineId: null,
  status: null,
  actor: 'alice@example.com',
  resumeRunId: null
}

const key: ServiceKeyRow = {
  keyId: 'k1',
  subject: 'ci',
  groups: ['team-a'],
  description: null,
  secretHash: 'hash-of-k1',
  createdAt: '2026-11-26T10:00:00.000Z',
  expiresAt: null,
  revokedAt: null,
  lastUsedAt: null,
  realm: 'proxy'
}

const owner: OwnerRow = {
  computationId: 'computation-1',
  subject: 'alice@example.com',
  groups: ['team-a'],
  capsuleId: 'capsule-1',
  pipelineId: null,
  createdAt: '2026-11-26T10:00:00.000Z',
  namespaced: true
}

async function counted (metrics: ProxyMetrics, name: string, operation: string): Promise<number | undefined> {
  return sampleValue(parsePrometheusText(await metrics.exposition()), name, { operation })
}

t.test('every operation of every slice reaches the store, answers what it answered, and is counted once under its name', async (t) => {
  const store = openSqliteDatabase(':memory:')
  const metrics = new ProxyMetrics()
  const timed = instrumentStore(store, metrics)
  t.equal(timed.kind, 'sqlite')

  await timed.appendAudit([record])
  t.same(await timed.chainHead('instance-a'), { seq: 1, hash: 'hash-1' })
  t.same(await timed.readChain('instance-a', 0, 10), [record])
  t.same(await timed.chainInstances(), ['instance-a'])
  t.same(await timed.queryAudit({ actor: 'alice@example.com', limit: 10 }), [record])
  t.equal(await timed.pruneAudit('2026-11-27T00:00:00.000Z', 10), 1)

  await timed.createServiceKey(key)
  await timed.touchServiceKey('k1', '2026-11-26T11:00:00.000Z')
  t.same(await timed.findServiceKey('k1'), { ...key, lastUsedAt: '2026-11-26T11:00:00.000Z' })
  t.equal(await timed.revokeServiceKey('k1', '2026-11-26T12:00:00.000Z'), true)
  t.same((await timed.listServiceKeys()).map((row) => row.revokedAt), ['2026-11-26T12:00:00.000Z'])

  await timed.recordOwner(owner)
  t.same(await timed.ownersOf(['computation-1', 'computation-2']), new Map([['computation-1', owner]]))

  const claim = claimFor('alice@example.com', 'key-1', 'hash-a', new Date('2026-11-26T10:00:00.000Z'), 60_000)
  t.equal(await timed.claimIdempotencyKey(claim), undefined)
  await timed.settleIdempotencyKey('alice@example.com', 'key-1', { state: 'unknown', status: null, headers: null, body: null, computationId: null, at: '2026-11-26T10:00:01.000Z' })
  await timed.releaseIdempotencyKey('alice@example.com', 'key-1', claim.createdAt)
  t.equal(await timed.pruneIdempotencyKeys('2026-11-27T00:00:00.000Z', 10), 1, 'the settled key was neither released nor overwritten')

  await timed.ping()
  await timed.close()
  await t.rejects(store.ping(), StoreError, 'closing the timed store closed the store')

  const operations = ['appendAudit', 'chainHead', 'readChain', 'chainInstances', 'queryAudit', 'pruneAudit',
    'createServiceKey', 'findServiceKey', 'listServiceKeys', 'revokeServiceKey', 'touchServiceKey',
    'recordOwner', 'ownersOf',
    'claimIdempotencyKey', 'settleIdempotencyKey', 'releaseIdempotencyKey', 'pruneIdempotencyKeys',
    'ping', 'close']
  for (const operation of operations) t.equal(await counted(metrics, CALLS, operation), 1, operation)
  for (const operation of operations) t.equal(await counted(metrics, ERRORS, operation), undefined, `${operation} did not fail`)
})

t.test('a failed operation is counted as an error under its name and fails the caller with the store\'s error', async (t) => {
  const store = openSqliteDatabase(':memory:')
  const metrics = new ProxyMetrics()
  const timed = instrumentStore(store, metrics)
  await store.close()
  await t.rejects(timed.ownersOf(['computation-1']), StoreError)
  t.equal(await counted(metrics, CALLS, 'ownersOf'), 1)
  t.equal(await counted(metrics, ERRORS, 'ownersOf'), 1)
})

t.test('a method replaced on the store after it was wrapped is the one the timed store calls', async (t) => {
  const store = openSqliteDatabase(':memory:')
  t.teardown(async () => { await store.close() })
  const metrics = new ProxyMetrics()
  const timed = instrumentStore(store, metrics)
  const asked: string[][] = []
  store.ownersOf = async (computationIds) => { asked.push([...computationIds]); return new Map() }
  t.same(await timed.ownersOf(['computation-1']), new Map())
  t.same(asked, [['computation-1']])
  t.equal(await counted(metrics, CALLS, 'ownersOf'), 1)
})
