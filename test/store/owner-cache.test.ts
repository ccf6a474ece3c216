// Owner rows are kept in memory once read, since they never change; "no owner" never is, and the
// cache is bounded, least recently used first out. Through the app, a computation's later calls
// are decided without asking the store.
import t, { type Test } from 'tap'
import { cachedOwnership, ownerRowBytes } from '../../src/store/owner-cache.js'
import { openSqliteDatabase } from '../../src/store/sqlite-database.js'
import type { OwnerRow } from '../../src/store/store.js'
import { buildTestApp, DEFAULT_CALLER } from '../helpers/app.js'
import { parsePrometheusText, sampleValue } from '../helpers/prometheus.js'
import { startTestSimulator } from '../helpers/simulator.js'

const owner = (computationId: string, subject = 'alice'): OwnerRow => ({
  computationId, subject, groups: [], capsuleId: 'capsule-1', pipelineId: null, createdAt: '2026-12-06T00:00:00.000Z', namespaced: true
})

/** A real store that counts the ids it is asked for. */
function countedStore (t: Test) {
  const store = openSqliteDatabase(':memory:')
  t.teardown(() => store.close())
  const asked: string[][] = []
  const ownersOf = store.ownersOf.bind(store)
  store.ownersOf = async (ids) => {
    asked.push([...ids])
    return await ownersOf(ids)
  }
  return { store, asked }
}

t.test('a row read once is answered from memory; only the ids not held are asked for', async (t) => {
  const { store, asked } = countedStore(t)
  await store.recordOwner(owner('a'))
  await store.recordOwner(owner('b', 'bob'))
  const owners = cachedOwnership(store)
  t.same((await owners.ownersOf(['a'])).get('a'), owner('a'))
  t.same([...(await owners.ownersOf(['a', 'b', 'nobody'])).entries()], [['a', owner('a')], ['b', owner('b', 'bob')]])
  t.same(asked, [['a'], ['b', 'nobody']], 'a came from memory the second time')
  await owners.ownersOf(['a', 'b'])
  t.equal(asked.length, 2, 'both from memory')
  t.equal(owners.size, 2)
})

t.test('"no owner" is never kept: an owner recorded later is found', async (t) => {
  const { store, asked } = countedStore(t)
  const owners = cachedOwnership(store)
  t.equal((await owners.ownersOf(['c'])).size, 0)
  await owners.recordOwner(owner('c'))
  t.same((await owners.ownersOf(['c'])).get('c'), owner('c'))
  t.equal(asked.length, 2, 'the store was asked again')
})

t.test('a write is not kept: the first record for an id wins, as the store says', async (t) => {
  const { store } = countedStore(t)
  const owners = cachedOwnership(store)
  await owners.recordOwner(owner('d', 'alice'))
  await owners.recordOwner(owner('d', 'mallory'))
  t.equal((await owners.ownersOf(['d'])).get('d')?.subject, 'alice')
})

t.test('bounded: past maxEntries the least recently used row goes first', async (t) => {
  const { store, asked } = countedStore(t)
  for (const id of ['e1', 'e2', 'e3']) await store.recordOwner(owner(id))
  const owners = cachedOwnership(store, 2)
  await owners.ownersOf(['e1'])
  await owners.ownersOf(['e2'])
  await owners.ownersOf(['e1'])
  await owners.ownersOf(['e3'])
  t.equal(owners.size, 2)
  asked.length = 0
  await owners.ownersOf(['e1', 'e3'])
  t.same(asked, [], 'e1, used last but one, and e3 are held')
  await owners.ownersOf(['e2'])
  t.same(asked, [['e2']], 'e2 was dropped')
  t.throws(() => cachedOwnership(store, 0), RangeError)
})

t.test('bounded in bytes too: rows with many groups push the oldest out, and one too big is never kept', async (t) => {
  const { store, asked } = countedStore(t)
  const groups = Array.from({ length: 100 }, (_, index) => `directory-group-${index}`)
  const big = (id: string): OwnerRow => ({ ...owner(id), groups })
  for (const id of ['g1', 'g2', 'g3']) await store.recordOwner(big(id))
  await store.recordOwner({ ...owner('huge'), groups: [...groups, ...groups, ...groups] })
  t.equal(ownerRowBytes({ ...owner('p'), capsuleId: null, pipelineId: 'pipeline-1' }), ownerRowBytes(owner('p')) + 'pipeline-1'.length * 2 - 'capsule-1'.length * 2, 'a pipeline\'s id counts as a capsule\'s does')
  const size = ownerRowBytes(big('g1'))
  const owners = cachedOwnership(store, 100, 2 * size)
  for (const id of ['g1', 'g2', 'g3']) await owners.ownersOf([id])
  t.same([owners.size, owners.bytes], [2, 2 * size], 'two fit')
  asked.length = 0
  await owners.ownersOf(['g2', 'g3'])
  await owners.ownersOf(['g1'])
  t.same(asked, [['g1']], 'the oldest went')
  asked.length = 0
  t.equal((await owners.ownersOf(['huge'])).get('huge')?.groups.length, 300)
  await owners.ownersOf(['huge'])
  t.same(asked, [['huge'], ['huge']], 'a row bigger than the whole bound is read each time')
  t.equal(owners.size, 2)
})

t.test('through the app, later calls on a computation ask the store for its owner no more', async (t) => {
  const simulator = await startTestSimulator(t)
  // Under the default policy, where each call is decided on the computation's owner.
  const proxy = await buildTestApp(t, simulator.url, { POLICY_FILE: '' })
  const alice = { 'x-forwarded-user': 'alice' }
  const run = await proxy.inject({ method: 'POST', url: '/api/v1/computations', payload: { capsule_id: simulator.capsules.analysis } }, alice)
  t.equal(run.statusCode, 200)
  const url = `/api/v1/computations/${run.json().id as string}`
  const lookups = async (): Promise<number | undefined> => {
    const metrics = await proxy.inject({ method: 'GET', url: '/metrics' }, DEFAULT_CALLER)
    return sampleValue(parsePrometheusText(metrics.body), 'codeocean_proxy_store_duration_seconds_count', { operation: 'ownersOf' })
  }
  for (let call = 0; call < 3; call++) t.equal((await proxy.inject({ method: 'GET', url }, alice)).statusCode, 200)
  t.equal(await lookups(), 1, 'one lookup for three reads')
  t.equal((await proxy.inject({ method: 'PATCH', url: `${url}?name=renamed` }, alice)).statusCode, 204)
  t.equal(await lookups(), 1, 'nor for a rename')
})
