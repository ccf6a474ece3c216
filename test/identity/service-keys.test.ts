// Service keys: made once and shown once, kept only as a hash, checked against the store on every
// use (so revocation and expiry hold at once), their last use written at most once a minute.
import { createHash, randomBytes } from 'node:crypto'
import t, { type Test } from 'tap'
import { Unauthenticated } from '../../src/errors.js'
import { createServiceKey, looksLikeServiceKey, SERVICE_KEY_PREFIX, ServiceKeys } from '../../src/identity/service-keys.js'
import { openSqliteDatabase } from '../../src/store/sqlite-database.js'
import type { Store } from '../../src/store/store.js'

const T0 = Date.parse('2024-03-01T12:00:00.000Z')
const KEY_PATTERN = /^cpx_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/

/** A fresh in-memory store, closed after the test. */
function memoryStore (t: Test): Store {
  const store = openSqliteDatabase(':memory:')
  t.teardown(() => store.close())
  return store
}

/** A clock the test moves by hand. */
function clock (start = T0): { now: () => number, set: (at: number) => void } {
  let at = start
  return { now: () => at, set: (to) => { at = to } }
}

/** The Unauthenticated error `promise` rejects with. */
async function refusal (t: Test, promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(() => undefined, (rejected: unknown) => rejected as Error)
  t.type(error, Unauthenticated)
  t.match(error, { code: 'PROXY_UNAUTHENTICATED', statusCode: 401 })
  return error ?? new Error('resolved')
}

/** Swaps the key's secret for another one of the same shape. */
function withOtherSecret (key: string): string {
  const [, keyId] = KEY_PATTERN.exec(key) ?? []
  return `${SERVICE_KEY_PREFIX}${keyId}_${'A'.repeat(43)}`
}

t.test('a new key is cpx_, a 16-hex-digit id and a 43-character secret', async (t) => {
  const { key, row } = await createServiceKey(memoryStore(t), { subject: 'ci', groups: [] })
  const [, keyId] = KEY_PATTERN.exec(key) ?? []
  t.ok(keyId, key)
  t.equal(row.keyId, keyId)
})

t.test('the store keeps the key\'s SHA-256 hash and never its secret', async (t) => {
  const store = memoryStore(t)
  const { key, row } = await createServiceKey(store, { subject: 'ci', groups: ['team-b'] })
  const [, , secret = ''] = KEY_PATTERN.exec(key) ?? []
  const stored = await store.findServiceKey(row.keyId)
  t.same(stored, row)
  t.equal(stored?.secretHash, createHash('sha256').update(secret).digest('hex'))
  t.notMatch(JSON.stringify(stored), secret)
})

t.test('a new key records who it is for, when it was made and when it expires', async (t) => {
  const created = new Date(T0)
  const expires = new Date(T0 + 86_400_000)
  const { row } = await createServiceKey(memoryStore(t), { subject: 'ci-nightly', groups: ['team-b', 'ci'], description: 'nightly runs', expiresAt: expires }, created)
  t.match(row, {
    subject: 'ci-nightly',
    groups: ['team-b', 'ci'],
    description: 'nightly runs',
    createdAt: '2024-03-01T12:00:00.000Z',
    expiresAt: '2024-03-02T12:00:00.000Z',
    revokedAt: null,
    lastUsedAt: null
  })
})

t.test('a key without description or expiry stores nulls, and is made now by default', async (t) => {
  const before = Date.now()
  const { row } = await createServiceKey(memoryStore(t), { subject: 'ci', groups: [] })
  t.equal(row.description, null)
  t.equal(row.expiresAt, null)
  t.ok(Date.parse(row.createdAt) >= before && Date.parse(row.createdAt) <= Date.now(), row.createdAt)
})

t.test('every key is different, in its id and its secret', async (t) => {
  const store = memoryStore(t)
  const keys = await Promise.all(Array.from({ length: 5 }, async () => (await createServiceKey(store, { subject: 'ci', groups: [] })).key))
  t.equal(new Set(keys.map((key) => key.slice(0, 20))).size, 5)
  t.equal(new Set(keys.map((key) => key.slice(21))).size, 5)
})

t.test('looksLikeServiceKey tells a key of ours by its prefix, case and all', async (t) => {
  t.equal(looksLikeServiceKey('cpx_0123456789abcdef_x'), true)
  t.equal(looksLikeServiceKey('cpx_'), true)
  t.equal(looksLikeServiceKey('cop_0123456789abcdef'), false, 'a Code Ocean token')
  t.equal(looksLikeServiceKey('CPX_0123456789abcdef_x'), false)
  t.equal(looksLikeServiceKey('eyJhbGciOiJSUzI1NiJ9.e30.sig'), false, 'a JWT')
  t.equal(looksLikeServiceKey(''), false)
})

t.test('a valid key proves its subject and groups, as a service-key identity', async (t) => {
  const store = memoryStore(t)
  const { key, row } = await createServiceKey(store, { subject: 'ci-nightly', groups: ['team-b'] })
  t.same(await new ServiceKeys(store).authenticate(key),
    { subject: 'key:ci-nightly', email: null, groups: ['team-b'], method: 'service-key', keyId: row.keyId }, 'in the namespace of keys')
  const person = await createServiceKey(store, { subject: 'alice', groups: ['team-a'], asPerson: true })
  t.same(await new ServiceKeys(store).authenticate(person.key),
    { subject: 'alice', email: null, groups: ['team-a'], method: 'service-key', keyId: person.row.keyId }, 'a key made to act as a person proves that person')
  await t.rejects(createServiceKey(store, { subject: 'key:ci-nightly', groups: [] }), /given without key:/, 'no key is made in the namespace twice')
})

t.test('a well-formed key with an unknown id is refused', async (t) => {
  await refusal(t, new ServiceKeys(memoryStore(t)).authenticate(`cpx_0123456789abcdef_${'A'.repeat(43)}`))
})

t.test('a real key id with the wrong secret is refused exactly like an unknown key', async (t) => {
  const store = memoryStore(t)
  const { key } = await createServiceKey(store, { subject: 'ci', groups: [] })
  const keys = new ServiceKeys(store)
  const unknown = await refusal(t, keys.authenticate(`cpx_0123456789abcdef_${'A'.repeat(43)}`))
  const wrongSecret = await refusal(t, keys.authenticate(withOtherSecret(key)))
  t.equal(wrongSecret.message, unknown.message, 'the answer does not say the key id exists')
})

t.test('a malformed key is refused without asking the store', async (t) => {
  const store = memoryStore(t)
  const { key } = await createServiceKey(store, { subject: 'ci', groups: [] })
  let lookups = 0
  const counting: Store = { ...store, findServiceKey: async (keyId) => { lookups++; return await store.findServiceKey(keyId) } }
  const keys = new ServiceKeys(counting)
  const malformed = [
    '',
    'cpx_',
    key.slice(4),
    key.toUpperCase(),
    `${key}=`,
    ` ${key}`,
    key.slice(0, -1),
    `${key}A`,
    key.replace(/^cpx_/, 'cop_'),
    key.replace(/^(cpx_[0-9a-f]{16})_/, '$1-')
  ]
  for (const presented of malformed) await refusal(t, keys.authenticate(presented))
  t.equal(lookups, 0)
})

t.test('a stored hash that is not a SHA-256 never matches', async (t) => {
  const store = memoryStore(t)
  const { key, row } = await createServiceKey(store, { subject: 'ci', groups: [] })
  await store.createServiceKey({ ...row, keyId: 'fedcba9876543210', secretHash: row.secretHash.slice(0, 62) })
  await refusal(t, new ServiceKeys(store).authenticate(key.replace(row.keyId, 'fedcba9876543210')))
})

t.test('a key works only where it was made for: the demo\'s only with the demo, the proxy\'s only with a proxy', async (t) => {
  const store = memoryStore(t)
  const demo = await createServiceKey(store, { subject: 'demo-user', groups: ['demo'], realm: 'demo' })
  const proxy = await createServiceKey(store, { subject: 'ci', groups: [] })
  t.equal(demo.row.realm, 'demo')
  t.equal(proxy.row.realm, 'proxy', 'the proxy\'s by default')
  const refusedByProxy = await refusal(t, new ServiceKeys(store).authenticate(demo.key))
  t.match(refusedByProxy.message, /made by npm run demo and works only with the demo/)
  const refusedByDemo = await refusal(t, new ServiceKeys(store, { realm: 'demo' }).authenticate(proxy.key))
  t.match(refusedByDemo.message, /made for a proxy, not for this demo/)
  t.equal((await store.findServiceKey(demo.row.keyId))?.lastUsedAt, null, 'a refused use is not recorded as a use')
  t.match(await new ServiceKeys(store, { realm: 'demo' }).authenticate(demo.key), { subject: 'demo-user', keyId: demo.row.keyId })
  const wrongSecret = await refusal(t, new ServiceKeys(store).authenticate(withOtherSecret(demo.key)))
  t.match(wrongSecret.message, /not recognised/, 'without its secret, a demo key is not even said to be one')
})

t.test('a revoked key is refused, saying it was revoked', async (t) => {
  const store = memoryStore(t)
  const { key, row } = await createServiceKey(store, { subject: 'ci', groups: [] })
  const keys = new ServiceKeys(store)
  await keys.authenticate(key)
  await store.revokeServiceKey(row.keyId, new Date(T0).toISOString())
  t.match(await refusal(t, keys.authenticate(key)), { message: /revoked/ }, 'at once, by the same instance that accepted it')
})

t.test('a revoked key with the wrong secret is answered as unrecognised', async (t) => {
  const store = memoryStore(t)
  const { key, row } = await createServiceKey(store, { subject: 'ci', groups: [] })
  await store.revokeServiceKey(row.keyId, new Date(T0).toISOString())
  const keys = new ServiceKeys(store)
  const unknown = await refusal(t, keys.authenticate(`cpx_0123456789abcdef_${'A'.repeat(43)}`))
  t.equal((await refusal(t, keys.authenticate(withOtherSecret(key)))).message, unknown.message)
})

t.test('a key is accepted until its expiry and refused from that instant on', async (t) => {
  const store = memoryStore(t)
  const expiresAt = new Date(T0 + 3_600_000)
  const { key } = await createServiceKey(store, { subject: 'ci', groups: [], expiresAt }, new Date(T0))
  const time = clock()
  const keys = new ServiceKeys(store, { now: time.now })
  time.set(expiresAt.getTime() - 1)
  t.equal((await keys.authenticate(key)).subject, 'key:ci', 'a millisecond before')
  time.set(expiresAt.getTime())
  t.match(await refusal(t, keys.authenticate(key)), { message: /expired/ }, 'at the instant')
  time.set(expiresAt.getTime() + 86_400_000)
  t.match(await refusal(t, keys.authenticate(key)), { message: /expired/ }, 'a day after')
})

t.test('an expired key with the wrong secret is answered as unrecognised', async (t) => {
  const store = memoryStore(t)
  const { key } = await createServiceKey(store, { subject: 'ci', groups: [], expiresAt: new Date(T0) }, new Date(T0 - 1000))
  const keys = new ServiceKeys(store, { now: () => T0 + 1000 })
  const unknown = await refusal(t, keys.authenticate(`cpx_0123456789abcdef_${'A'.repeat(43)}`))
  t.equal((await refusal(t, keys.authenticate(withOtherSecret(key)))).message, unknown.message)
})

t.test('last use is written on the first use, then at most once a minute', async (t) => {
  const store = memoryStore(t)
  const { key, row } = await createServiceKey(store, { subject: 'ci', groups: [] })
  const time = clock()
  const keys = new ServiceKeys(store, { now: time.now })
  const lastUsed = async (): Promise<string | null | undefined> => (await store.findServiceKey(row.keyId))?.lastUsedAt

  await keys.authenticate(key)
  t.equal(await lastUsed(), '2024-03-01T12:00:00.000Z', 'the first use')
  time.set(T0 + 59_999)
  await keys.authenticate(key)
  t.equal(await lastUsed(), '2024-03-01T12:00:00.000Z', 'not again within the minute')
  time.set(T0 + 60_000)
  await keys.authenticate(key)
  t.equal(await lastUsed(), '2024-03-01T12:01:00.000Z', 'again once a minute has passed')
  time.set(T0 + 90_000)
  await keys.authenticate(key)
  t.equal(await lastUsed(), '2024-03-01T12:01:00.000Z', 'the minute counts from the last write')
})

t.test('last use is tracked for each key separately', async (t) => {
  const store = memoryStore(t)
  const first = await createServiceKey(store, { subject: 'one', groups: [] })
  const second = await createServiceKey(store, { subject: 'two', groups: [] })
  const time = clock()
  const keys = new ServiceKeys(store, { now: time.now })
  await keys.authenticate(first.key)
  time.set(T0 + 1000)
  await keys.authenticate(second.key)
  t.equal((await store.findServiceKey(first.row.keyId))?.lastUsedAt, '2024-03-01T12:00:00.000Z')
  t.equal((await store.findServiceKey(second.row.keyId))?.lastUsedAt, '2024-03-01T12:00:01.000Z', 'written though the other key was used within the minute')
})

t.test('a refused use writes no last use', async (t) => {
  const store = memoryStore(t)
  const { key, row } = await createServiceKey(store, { subject: 'ci', groups: [], expiresAt: new Date(T0) }, new Date(T0 - 1000))
  const keys = new ServiceKeys(store, { now: () => T0 })
  await refusal(t, keys.authenticate(withOtherSecret(key)))
  await refusal(t, keys.authenticate(key))
  t.equal((await store.findServiceKey(row.keyId))?.lastUsedAt, null)
})

t.test('a store that cannot record the last use does not lock a valid key out, and is tried again', async (t) => {
  const store = memoryStore(t)
  const { key, row } = await createServiceKey(store, { subject: 'ci', groups: [] })
  const touch = store.touchServiceKey
  let failures = 0
  store.touchServiceKey = async () => { failures++; throw new Error('read-only database') }
  const keys = new ServiceKeys(store, { now: clock().now })
  t.equal((await keys.authenticate(key)).subject, 'key:ci', 'accepted although last use could not be written')
  store.touchServiceKey = touch
  await keys.authenticate(key)
  t.equal(failures, 1)
  t.equal((await store.findServiceKey(row.keyId))?.lastUsedAt, '2024-03-01T12:00:00.000Z', 'written on the next use')
})

t.test('every byte of the secret\'s hash counts: a stored hash that differs in any one byte refuses the key', async (t) => {
  const store = memoryStore(t)
  const keys = new ServiceKeys(store, { now: clock().now })
  const { key, row } = await createServiceKey(store, { subject: 'ci-runner', groups: [] }, new Date(T0))
  const [, , secret = ''] = KEY_PATTERN.exec(key) ?? []
  t.equal((await keys.authenticate(key)).subject, 'key:ci-runner', 'the real key is accepted')
  const real = Buffer.from(row.secretHash, 'hex')
  for (let byte = 0; byte < real.length; byte++) {
    const near = Buffer.from(real)
    near[byte] = (near[byte] ?? 0) ^ 0x01
    const keyId = randomBytes(8).toString('hex')
    await store.createServiceKey({ ...row, keyId, secretHash: near.toString('hex') })
    await refusal(t, keys.authenticate(`${SERVICE_KEY_PREFIX}${keyId}_${secret}`))
  }
})
