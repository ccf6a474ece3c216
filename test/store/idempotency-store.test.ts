// The idempotency-key part of the store contract, run against SQLite and PostgreSQL alike:
// a key is claimed once, settled or released by its holder, replaced once expired, pruned.
import t from 'tap'
import { claimFor } from '../../src/idempotency/idempotency.js'
import type { IdempotencyOutcome, IdempotencyRow } from '../../src/store/store.js'
import { forEachStore } from '../helpers/stores.js'

/** Minutes after 10:00 on a fixed day, as the ISO-8601 text the store compares. */
const at = (minute: number): string => new Date(Date.UTC(2026, 10, 26, 10, minute)).toISOString()

function claimRow (key: string, overrides: Partial<IdempotencyRow> = {}): IdempotencyRow {
  return { ...claimFor('alice@example.com', key, 'hash-a', new Date(at(0)), 3_600_000), ...overrides }
}

const answered: IdempotencyOutcome = {
  state: 'completed',
  status: 200,
  headers: { 'content-type': 'application/json; charset=utf-8', 'x-note': 'ünïcode "quoted"' },
  body: '{"id":"c-1","state":"initializing","name":"ünïcode"}',
  computationId: 'c-1',
  at: at(1)
}

forEachStore(t, 'a claimed key is refused to a second claim, which gets the row, then the answer once settled', async (t, stores) => {
  const store = await stores.open()
  t.equal(await store.claimIdempotencyKey(claimRow('k1')), undefined, 'the first claim gets the key')
  t.same(await store.claimIdempotencyKey(claimRow('k1', { requestHash: 'hash-b', createdAt: at(1), updatedAt: at(1) })), claimRow('k1'),
    'a second claim gets the first row, unchanged')
  await store.settleIdempotencyKey('alice@example.com', 'k1', answered)
  const { state, status, headers, body, computationId } = answered
  t.same(await store.claimIdempotencyKey(claimRow('k1', { createdAt: at(2) })),
    claimRow('k1', { state, status, headers, body, computationId, updatedAt: at(1) }), 'the answer reads back exactly')
})

forEachStore(t, 'a settled key keeps its first settlement', async (t, stores) => {
  const store = await stores.open()
  await store.claimIdempotencyKey(claimRow('k1'))
  await store.settleIdempotencyKey('alice@example.com', 'k1', { state: 'unknown', status: null, headers: null, body: null, computationId: null, at: at(1) })
  await store.settleIdempotencyKey('alice@example.com', 'k1', answered)
  await store.releaseIdempotencyKey('alice@example.com', 'k1')
  t.same(await store.claimIdempotencyKey(claimRow('k1', { createdAt: at(2) })), claimRow('k1', { state: 'unknown', updatedAt: at(1) }),
    'neither a later settlement nor a release undoes it')
})

forEachStore(t, 'one key from two callers is two keys', async (t, stores) => {
  const store = await stores.open()
  t.equal(await store.claimIdempotencyKey(claimRow('k1')), undefined)
  t.equal(await store.claimIdempotencyKey(claimRow('k1', { subject: 'bob@example.com' })), undefined)
})

forEachStore(t, 'a released key may be claimed again, and settling a released key changes nothing', async (t, stores) => {
  const store = await stores.open()
  await store.claimIdempotencyKey(claimRow('k1'))
  await store.releaseIdempotencyKey('alice@example.com', 'k1')
  await store.settleIdempotencyKey('alice@example.com', 'k1', answered)
  t.equal(await store.claimIdempotencyKey(claimRow('k1', { requestHash: 'hash-b', createdAt: at(1) })), undefined, 'the retry gets the key')
  t.same(await store.claimIdempotencyKey(claimRow('k1', { createdAt: at(2) })), claimRow('k1', { requestHash: 'hash-b', createdAt: at(1) }),
    'the row is the retry\'s')
  await t.resolves(store.releaseIdempotencyKey('alice@example.com', 'never-claimed'), 'releasing an unknown key is harmless')
})

forEachStore(t, 'releasing with the time of a claim takes back that claim only, never another request\'s', async (t, stores) => {
  const store = await stores.open()
  await store.claimIdempotencyKey(claimRow('k1'))
  await store.releaseIdempotencyKey('alice@example.com', 'k1', at(5))
  t.same(await store.claimIdempotencyKey(claimRow('k1', { createdAt: at(6) })), claimRow('k1'), 'a claim made at another time is left in place')
  await store.releaseIdempotencyKey('alice@example.com', 'k1', claimRow('k1').createdAt)
  t.equal(await store.claimIdempotencyKey(claimRow('k1', { createdAt: at(7) })), undefined, 'its own time releases it')
})

forEachStore(t, 'an expired key is replaced by the next claim, from its expiry time on', async (t, stores) => {
  const store = await stores.open()
  await store.claimIdempotencyKey(claimRow('k1'))
  await store.settleIdempotencyKey('alice@example.com', 'k1', answered)
  t.equal((await store.claimIdempotencyKey(claimRow('k1', { createdAt: '2026-11-26T10:59:59.999Z' })))?.state, 'completed',
    'a millisecond before expiry the key is still taken')
  const replacement = claimRow('k1', { requestHash: 'hash-b', createdAt: at(60), updatedAt: at(60), expiresAt: at(120) })
  t.equal(await store.claimIdempotencyKey(replacement), undefined, 'at its expiry time the key is free')
  t.same(await store.claimIdempotencyKey(claimRow('k1', { createdAt: at(61) })), replacement, 'the old answer is gone')
})

forEachStore(t, 'pruning deletes expired keys, the earliest first, a batch at a time', async (t, stores) => {
  const store = await stores.open()
  for (const [key, expiry] of [['k4', 40], ['k1', 10], ['k3', 30], ['k2', 20]] as const) {
    await store.claimIdempotencyKey(claimRow(key, { expiresAt: at(expiry) }))
  }
  t.equal(await store.pruneIdempotencyKeys(at(30), 2), 2)
  t.equal(await store.pruneIdempotencyKeys(at(30), 2), 1, 'a key expiring at `before` has expired')
  t.equal(await store.pruneIdempotencyKeys(at(30), 2), 0)
  t.equal(await store.claimIdempotencyKey(claimRow('k3', { createdAt: at(5) })), undefined, 'k3 was pruned')
  t.equal((await store.claimIdempotencyKey(claimRow('k4', { createdAt: at(5) })))?.expiresAt, at(40), 'k4 was kept')
})

forEachStore(t, 'of 20 concurrent claims of one key on two handles, exactly one gets it', async (t, stores) => {
  const [first, second] = [await stores.open(), await stores.open()]
  const claims = Array.from({ length: 20 }, (_, index) => claimRow('k1', { requestHash: `hash-${index}` }))
  const results = await Promise.all(claims.map((row, index) => (index % 2 === 0 ? first : second).claimIdempotencyKey(row)))
  const winners = results.flatMap((result, index) => result === undefined ? [claims[index]] : [])
  t.equal(winners.length, 1, 'one claim got the key')
  t.same(results.filter((result) => result !== undefined), Array.from({ length: 19 }, () => winners[0]), 'every other claim got the winner\'s row')
})
