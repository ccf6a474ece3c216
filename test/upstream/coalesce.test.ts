// Identical concurrent reads share one upstream call; terminal answers are served from memory
// for a while, and an invalidate keeps a stale fetch out of the cache.
import t from 'tap'
import { answerBytes, Coalescer, POLL_CACHE_BYTES, type BufferedAnswer, type CoalescerOptions } from '../../src/upstream/coalesce.js'

function answerWith (state: string, status = 200): BufferedAnswer {
  return { status, headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify({ state })) }
}

const isTerminal = (answer: BufferedAnswer): boolean => (JSON.parse(answer.body.toString()) as { state: string }).state === 'completed'

/** A fetch the test settles by hand, counting how often it was started. */
function controlledFetch () {
  const pending: Array<{ resolve: (answer: BufferedAnswer) => void, reject: (error: unknown) => void }> = []
  return {
    pending,
    get calls () { return pending.length },
    fetch: async (): Promise<BufferedAnswer> => await new Promise((resolve, reject) => { pending.push({ resolve, reject }) })
  }
}

/** A coalescer on a clock the test moves. */
function coalescerAt (options: Partial<CoalescerOptions> = {}) {
  const clock = { now: 1_000 }
  const coalescer = new Coalescer({ terminalCacheMs: 5_000, isTerminal, now: () => clock.now, ...options })
  return { clock, coalescer }
}

t.test('concurrent calls for one key share one fetch and the same answer object', async (t) => {
  const { coalescer } = coalescerAt()
  const upstream = controlledFetch()
  const calls = [1, 2, 3].map(async () => await coalescer.run('c-1', upstream.fetch))
  t.equal(upstream.calls, 1, 'one upstream call')
  t.equal(coalescer.inFlight, 1)
  const answer = answerWith('running')
  upstream.pending[0]?.resolve(answer)
  const results = await Promise.all(calls)
  t.same(results.map(({ source }) => source), ['upstream', 'coalesced', 'coalesced'])
  for (const result of results) t.equal(result.answer, answer, 'the very same object')
  t.equal(coalescer.inFlight, 0, 'the entry goes when the fetch lands')
  t.equal(coalescer.cached, 0, 'a running computation is not cached')
})

t.test('different keys fetch separately', async (t) => {
  const { coalescer } = coalescerAt()
  const upstream = controlledFetch()
  const first = coalescer.run('c-1', upstream.fetch)
  const second = coalescer.run('c-2', upstream.fetch)
  t.equal(upstream.calls, 2)
  upstream.pending[0]?.resolve(answerWith('running'))
  upstream.pending[1]?.resolve(answerWith('queued'))
  t.not((await first).answer, (await second).answer)
  t.equal((await second).source, 'upstream')
})

t.test('a failed fetch rejects every joiner with the same error and is not remembered', async (t) => {
  const { coalescer } = coalescerAt()
  const upstream = controlledFetch()
  const calls = [1, 2].map(async () => await coalescer.run('c-1', upstream.fetch))
  const failure = new Error('upstream reset')
  upstream.pending[0]?.reject(failure)
  const settled = await Promise.allSettled(calls)
  t.same(settled.map((result) => result.status), ['rejected', 'rejected'])
  for (const result of settled) t.equal((result as PromiseRejectedResult).reason, failure)
  t.equal(coalescer.inFlight, 0, 'the entry goes on failure too')

  const retry = coalescer.run('c-1', upstream.fetch)
  t.equal(upstream.calls, 2, 'the next call fetches again')
  upstream.pending[1]?.resolve(answerWith('running'))
  t.equal((await retry).source, 'upstream')
})

t.test('a fetch that throws instead of rejecting reaches the caller as a rejection and leaves no entry', async (t) => {
  const { coalescer } = coalescerAt()
  const failure = new Error('thrown synchronously')
  await t.rejects(coalescer.run('c-1', () => { throw failure }), failure)
  t.equal(coalescer.inFlight, 0)
})

t.test('a terminal 200 answer is served from memory until terminalCacheMs passes', async (t) => {
  const { clock, coalescer } = coalescerAt()
  let calls = 0
  const completed = answerWith('completed')
  const fetch = async (): Promise<BufferedAnswer> => { calls++; return completed }
  t.equal((await coalescer.run('c-1', fetch)).source, 'upstream')
  t.equal(coalescer.cached, 1)
  clock.now += 4_999
  const hit = await coalescer.run('c-1', fetch)
  t.same(hit, { answer: completed, source: 'cache' })
  t.equal(hit.answer, completed, 'the same object')
  t.equal(calls, 1, 'no upstream call for a cache hit')
  clock.now += 1
  t.equal(coalescer.cached, 0, 'expired at terminalCacheMs')
  t.equal((await coalescer.run('c-1', fetch)).source, 'upstream')
  t.equal(calls, 2)
})

t.test('only 200 answers in a terminal state are cached', async (t) => {
  // isTerminal says yes to the 404 too: the status alone must keep it out.
  const { coalescer } = coalescerAt({ isTerminal: () => true })
  await coalescer.run('gone', async () => answerWith('completed', 404))
  await coalescer.run('failing', async () => answerWith('completed', 503))
  t.equal(coalescer.cached, 0, 'error answers are not cached')

  const strict = coalescerAt().coalescer
  await strict.run('running', async () => answerWith('running'))
  t.equal(strict.cached, 0, 'a running computation is not cached')
})

t.test('terminalCacheMs 0 turns the cache off', async (t) => {
  const { coalescer } = coalescerAt({ terminalCacheMs: 0 })
  let calls = 0
  const fetch = async (): Promise<BufferedAnswer> => { calls++; return answerWith('completed') }
  await coalescer.run('c-1', fetch)
  t.equal((await coalescer.run('c-1', fetch)).source, 'upstream')
  t.equal(calls, 2)
  t.equal(coalescer.cached, 0)
})

t.test('invalidate drops a cached answer', async (t) => {
  const { coalescer } = coalescerAt()
  await coalescer.run('c-1', async () => answerWith('completed'))
  await coalescer.run('c-2', async () => answerWith('completed'))
  coalescer.invalidate('c-1')
  t.equal(coalescer.cached, 1, 'only that key')
  t.equal((await coalescer.run('c-1', async () => answerWith('completed'))).source, 'upstream')
  t.equal((await coalescer.run('c-2', async () => answerWith('completed'))).source, 'cache')
})

t.test('a fetch started before invalidate (of any spelling) answers its callers but is not cached, and later callers fetch afresh', async (t) => {
  for (const spelling of ['c-1', 'C-1']) {
    const { coalescer } = coalescerAt()
    const detached = coalescer.run('c-1', controlledFetch().fetch)
    coalescer.invalidate(spelling)
    t.equal(coalescer.inFlight, 0, `invalidating ${spelling} detaches the fetch of c-1`)
    void detached
  }
  const { coalescer } = coalescerAt()
  const upstream = controlledFetch()
  const before = coalescer.run('c-1', upstream.fetch)
  const joiner = coalescer.run('c-1', upstream.fetch)
  coalescer.invalidate('c-1')
  t.equal(coalescer.inFlight, 0, 'the old fetch can no longer be joined')

  const after = coalescer.run('c-1', upstream.fetch)
  t.equal(upstream.calls, 2, 'a caller after invalidate does not join the stale fetch')
  const stale = answerWith('completed')
  upstream.pending[0]?.resolve(stale)
  t.same(await before, { answer: stale, source: 'upstream' })
  t.same(await joiner, { answer: stale, source: 'coalesced' })
  t.equal(coalescer.cached, 0, 'the stale answer is not cached')
  t.equal(coalescer.inFlight, 1, 'and landing did not remove the newer fetch')

  const fresh = answerWith('completed')
  upstream.pending[1]?.resolve(fresh)
  t.equal((await after).answer, fresh)
  t.equal(coalescer.inFlight, 0)
  t.equal((await coalescer.run('c-1', upstream.fetch)).answer, fresh, 'the newer answer is the one cached')
})

t.test('the newer fetch is cached even when the stale one lands after it', async (t) => {
  const { coalescer } = coalescerAt()
  const upstream = controlledFetch()
  const before = coalescer.run('c-1', upstream.fetch)
  coalescer.invalidate('c-1')
  const after = coalescer.run('c-1', upstream.fetch)
  const fresh = answerWith('completed')
  upstream.pending[1]?.resolve(fresh)
  await after
  upstream.pending[0]?.resolve(answerWith('completed'))
  await before
  t.equal((await coalescer.run('c-1', upstream.fetch)).answer, fresh)
  t.equal(upstream.calls, 2)
})

t.test('the cache holds maxEntries at most, dropping the oldest first', async (t) => {
  const { clock, coalescer } = coalescerAt({ maxEntries: 2 })
  const completed = async (): Promise<BufferedAnswer> => answerWith('completed')
  await coalescer.run('a', completed)
  clock.now += 1
  await coalescer.run('b', completed)
  clock.now += 1
  await coalescer.run('c', completed)
  t.equal(coalescer.cached, 2)
  t.equal((await coalescer.run('b', completed)).source, 'cache')
  t.equal((await coalescer.run('c', completed)).source, 'cache')
  t.equal((await coalescer.run('a', completed)).source, 'upstream', 'the oldest went')

  // Caching `b` again makes it the newest, so `c` is dropped next.
  coalescer.invalidate('b')
  await coalescer.run('b', completed)
  t.equal((await coalescer.run('c', completed)).source, 'upstream')
  t.equal((await coalescer.run('b', completed)).source, 'cache')
})

t.test('invalidate forgets the key in any letter case, and its variants, and nothing else', async (t) => {
  const { coalescer } = coalescerAt()
  const completed = async (): Promise<BufferedAnswer> => answerWith('completed')
  const keys = ['/c/ABC-1', '/c/abc-1\n4.6.0', '/c/Abc-1\n4.7.0', '/c/abc-12', '/c/ABC-2']
  for (const key of keys) await coalescer.run(key, completed)
  coalescer.invalidate('/c/abc-1')
  t.equal(coalescer.cached, 2)
  const fetched: string[] = []
  for (const key of keys) await coalescer.run(key, async () => { fetched.push(key); return await completed() })
  t.same(fetched, keys.slice(0, 3), 'every spelling and version of the key went; another key that begins the same way stayed')
})

t.test('the cache holds maxBytes at most, dropping the oldest first, and keeps no answer larger than that', async (t) => {
  const answerOf = (size: number): BufferedAnswer => ({ status: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify({ state: 'completed', pad: 'x'.repeat(size) })) })
  const one = answerBytes('a', answerOf(1_000))
  const { clock, coalescer } = coalescerAt({ maxBytes: 2 * one + 10 })
  for (const key of ['a', 'b', 'c']) {
    await coalescer.run(key, async () => answerOf(1_000))
    clock.now += 1
  }
  t.equal(coalescer.cached, 2, 'two answers fit')
  t.equal(coalescer.cachedBytes, 2 * one)
  t.equal((await coalescer.run('b', async () => answerOf(1_000))).source, 'cache')
  t.equal((await coalescer.run('c', async () => answerOf(1_000))).source, 'cache')
  t.equal((await coalescer.run('a', async () => answerOf(1_000))).source, 'upstream', 'the oldest went')

  const huge = answerOf(3 * one)
  t.equal((await coalescer.run('huge', async () => huge)).answer, huge, 'an answer too large to keep is still answered')
  t.equal((await coalescer.run('huge', async () => huge)).source, 'upstream', 'but never remembered')
  t.equal(coalescer.cached, 2, 'nor did it push out what was kept')

  coalescer.invalidate('c')
  clock.now += 10_000
  t.equal(coalescer.cached, 0)
  t.equal(coalescer.cachedBytes, 0, 'forgotten and expired answers give their bytes back')
})

t.test('what an answer counts for grows with its body, headers and key', async (t) => {
  const base = answerBytes('k', { status: 200, headers: {}, body: Buffer.alloc(0) })
  t.equal(answerBytes('k', { status: 200, headers: {}, body: Buffer.alloc(1_000) }), base + 1_000)
  t.equal(answerBytes('k'.repeat(11), { status: 200, headers: {}, body: Buffer.alloc(0) }), base + 20)
  t.equal(answerBytes('k', { status: 200, headers: { a: 'xy' }, body: Buffer.alloc(0) }), base + 2 + 64 + 4)
  t.equal(answerBytes('k', { status: 200, headers: { a: ['xy', 'z'] }, body: Buffer.alloc(0) }), base + 2 + 64 + 6)
  t.equal(POLL_CACHE_BYTES, 32 * 1024 * 1024)
})

t.test('the default bound is 10 000 entries and the default clock is Date.now', async (t) => {
  const coalescer = new Coalescer({ terminalCacheMs: 60_000, isTerminal })
  const completed = async (): Promise<BufferedAnswer> => answerWith('completed')
  for (let index = 0; index <= 10_000; index++) await coalescer.run(`c-${index}`, completed)
  t.equal(coalescer.cached, 10_000)
  t.equal((await coalescer.run('c-0', completed)).source, 'upstream')
  t.equal((await coalescer.run('c-10000', completed)).source, 'cache')
})

t.test('options that cannot work are refused at construction', async (t) => {
  for (const terminalCacheMs of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
    t.throws(() => new Coalescer({ terminalCacheMs, isTerminal }), RangeError, `terminalCacheMs ${terminalCacheMs}`)
  }
  for (const maxEntries of [0, -1, 1.5]) {
    t.throws(() => new Coalescer({ terminalCacheMs: 1, isTerminal, maxEntries }), RangeError, `maxEntries ${maxEntries}`)
  }
  for (const maxBytes of [0, -1, 1.5, Number.NaN]) {
    t.throws(() => new Coalescer({ terminalCacheMs: 1, isTerminal, maxBytes }), RangeError, `maxBytes ${maxBytes}`)
  }
})
