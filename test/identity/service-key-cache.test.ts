// A service key's row is read from the store at most once per SERVICE_KEY_CACHE_MS: the secret,
// the expiry and the realm are still checked on every call, "no such key" is never held, and a
// revocation made elsewhere is seen within that time, which is the bound the README states.
import t, { type Test } from 'tap'
import { Unauthenticated } from '../../src/errors.js'
import { createServiceKey, ServiceKeys } from '../../src/identity/service-keys.js'
import { openSqliteDatabase } from '../../src/store/sqlite-database.js'
import { buildTestApp, DEFAULT_CALLER } from '../helpers/app.js'
import { parsePrometheusText, sampleValue } from '../helpers/prometheus.js'
import { startTestSimulator } from '../helpers/simulator.js'

const T0 = Date.parse('2026-12-06T12:00:00.000Z')

/** A real store counting its key lookups, and a clock the test moves. */
function setup (t: Test) {
  const store = openSqliteDatabase(':memory:')
  t.teardown(() => store.close())
  const lookups: string[] = []
  const find = store.findServiceKey.bind(store)
  store.findServiceKey = async (keyId) => {
    lookups.push(keyId)
    return await find(keyId)
  }
  let now = T0
  return { store, lookups, clock: { now: () => now, set: (at: number) => { now = at } } }
}

t.test('a row read once is used for cacheMs, then read again', async (t) => {
  const { store, lookups, clock } = setup(t)
  const { key, row } = await createServiceKey(store, { subject: 'ci', groups: [] })
  const keys = new ServiceKeys(store, { cacheMs: 1000, now: clock.now })
  await keys.authenticate(key)
  clock.set(T0 + 999)
  t.equal((await keys.authenticate(key)).subject, 'key:ci')
  t.same(lookups, [row.keyId], 'one lookup within the second')
  clock.set(T0 + 1000)
  await keys.authenticate(key)
  t.equal(lookups.length, 2, 'read again once it is as old as cacheMs')
  clock.set(T0 + 500)
  await keys.authenticate(key)
  t.equal(lookups.length, 3, 'and again when the clock is set back')
})

t.test('the bound: a revocation made elsewhere is seen within cacheMs; an expiry at its instant', async (t) => {
  const { store, clock } = setup(t)
  const { key, row } = await createServiceKey(store, { subject: 'ci', groups: [], expiresAt: new Date(T0 + 10_000) })
  const keys = new ServiceKeys(store, { cacheMs: 1000, now: clock.now })
  await keys.authenticate(key)
  t.ok(await store.revokeServiceKey(row.keyId, new Date(T0).toISOString()), 'revoked by another process, as keys revoke does')
  clock.set(T0 + 999)
  t.equal((await keys.authenticate(key)).keyId, row.keyId, 'still accepted within the second: the documented bound')
  clock.set(T0 + 1000)
  await t.rejects(keys.authenticate(key), new Unauthenticated('The service key has been revoked.'))

  const other = await createServiceKey(store, { subject: 'etl', groups: [], expiresAt: new Date(T0 + 1500) })
  await keys.authenticate(other.key)
  clock.set(T0 + 1500)
  await t.rejects(keys.authenticate(other.key), /expired/, 'a held row still expires at its instant')
})

t.test('the secret is checked on every call, and no such key is never held', async (t) => {
  const { store, lookups, clock } = setup(t)
  const { key, row } = await createServiceKey(store, { subject: 'ci', groups: [] })
  const keys = new ServiceKeys(store, { cacheMs: 1000, now: clock.now })
  await keys.authenticate(key)
  const forged = `${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`
  await t.rejects(keys.authenticate(forged), Unauthenticated, 'a wrong secret for a held key')
  const unknown = `cpx_0123456789abcdef_${'A'.repeat(43)}`
  await t.rejects(keys.authenticate(unknown), Unauthenticated)
  await t.rejects(keys.authenticate(unknown), Unauthenticated)
  t.same(lookups, [row.keyId, '0123456789abcdef', '0123456789abcdef'], 'the held key was not read again; the unknown one was, each time')
})

t.test('forget drops a held row; past maxHeld the oldest read goes; 0 reads every time', async (t) => {
  const { store, lookups, clock } = setup(t)
  const [a, b, c] = await Promise.all(['a', 'b', 'c'].map(async (subject) => await createServiceKey(store, { subject, groups: [] })))
  const keys = new ServiceKeys(store, { cacheMs: 1000, maxHeld: 2, now: clock.now })
  for (const { key } of [a!, b!, c!]) await keys.authenticate(key)
  lookups.length = 0
  await keys.authenticate(b!.key)
  await keys.authenticate(c!.key)
  t.same(lookups, [], 'the two read last are held')
  await keys.authenticate(a!.key)
  t.same(lookups, [a!.row.keyId], 'the first read was dropped')
  keys.forget(c!.row.keyId)
  await keys.authenticate(c!.key)
  t.same(lookups, [a!.row.keyId, c!.row.keyId], 'a forgotten key is read again')

  const uncached = new ServiceKeys(store, { now: clock.now })
  lookups.length = 0
  await uncached.authenticate(a!.key)
  await uncached.authenticate(a!.key)
  t.equal(lookups.length, 2, 'without cacheMs every call reads the store')
  t.throws(() => new ServiceKeys(store, { cacheMs: -1 }), RangeError)
  t.throws(() => new ServiceKeys(store, { cacheMs: 0.5 }), RangeError)
})

for (const [how, forget] of [
  ['a revocation is announced', (keys: ServiceKeys, keyId: string) => { keys.forget(keyId) }],
  ['the store was written by another process', (keys: ServiceKeys) => { keys.forgetAll() }]
] as const) {
  t.test(`a read under way when ${how} is used once, never held`, async (t) => {
    const { store, lookups, clock } = setup(t)
    const { key, row } = await createServiceKey(store, { subject: 'ci', groups: [] })
    const keys = new ServiceKeys(store, { cacheMs: 1000, now: clock.now })
    const find = store.findServiceKey
    let release!: () => void
    const held = new Promise<void>((resolve) => { release = resolve })
    let started!: () => void
    const underWay = new Promise<void>((resolve) => { started = resolve })
    store.findServiceKey = async (keyId) => {
      started()
      await held
      return await find(keyId)
    }
    const first = keys.authenticate(key)
    await underWay
    forget(keys, row.keyId)
    release()
    t.equal((await first).keyId, row.keyId, 'the read under way is answered')
    store.findServiceKey = find
    await keys.authenticate(key)
    t.equal(lookups.length, 2, 'and the next call reads the store again')
  })
}

t.test('forgetAll drops every held row', async (t) => {
  const { store, lookups, clock } = setup(t)
  const [a, b] = await Promise.all(['a', 'b'].map(async (subject) => await createServiceKey(store, { subject, groups: [] })))
  const keys = new ServiceKeys(store, { cacheMs: 1000, now: clock.now })
  for (const { key } of [a!, b!]) await keys.authenticate(key)
  keys.forgetAll()
  lookups.length = 0
  for (const { key } of [a!, b!]) await keys.authenticate(key)
  t.same(lookups, [a!.row.keyId, b!.row.keyId], 'both are read again')
  for (const { key } of [a!, b!]) await keys.authenticate(key)
  t.equal(lookups.length, 2, 'and held again after that')
})

t.test('through the app, SERVICE_KEY_CACHE_MS spares the store a lookup per call', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, { SERVICE_KEY_CACHE_MS: '1000' })
  const { key } = await createServiceKey(proxy.store, { subject: 'ci', groups: ['proxy-admins'] })
  const url = `/api/v1/computations/${simulator.addComputation({ capsule_id: simulator.capsules.analysis }).id}`
  const bearer = { authorization: `Bearer ${key}` }
  // Well within the second, however busy the machine: the calls are made back to back, and the
  // count is read after, so a second lookup would only mean a call came a second late.
  const started = Date.now()
  for (let call = 0; call < 3; call++) t.equal((await proxy.inject({ method: 'GET', url }, bearer)).statusCode, 200)
  const metrics = await proxy.inject({ method: 'GET', url: '/metrics' }, DEFAULT_CALLER)
  const lookups = sampleValue(parsePrometheusText(metrics.body), 'codeocean_proxy_store_duration_seconds_count', { operation: 'findServiceKey' })
  if (Date.now() - started < 1000) t.equal(lookups, 1, 'one lookup for three calls')
  else t.ok(lookups !== undefined && lookups <= 3, 'the machine was too busy to tell: at most one lookup per call')
})
