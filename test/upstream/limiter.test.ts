// The global limit on calls to Code Ocean: concurrency, rate, a bounded FIFO queue, and no timer
// or listener left behind. The rate follows an injected clock; timers are real but short, and
// counted through a mocked node:timers so the unref'd rate timer can be seen too.
import { getEventListeners } from 'node:events'
import { setTimeout as realSetTimeout, clearTimeout as realClearTimeout } from 'node:timers'
import { setTimeout as wait } from 'node:timers/promises'
import t, { type Test } from 'tap'
import type { LimiterOptions, UpstreamLimiter as Limiter } from '../../src/upstream/limiter.js'

/** Timers the limiter has running now, and whether each keeps the process alive. */
const live = new Set<NodeJS.Timeout>()
const timers = {
  setTimeout: (callback: () => void, ms: number): NodeJS.Timeout => {
    const timer = realSetTimeout(() => {
      live.delete(timer)
      callback()
    }, ms)
    live.add(timer)
    return timer
  },
  clearTimeout: (timer: NodeJS.Timeout | undefined): void => {
    if (timer !== undefined) live.delete(timer)
    realClearTimeout(timer)
  }
}
const { UpstreamLimiter } = await t.mockImport<typeof import('../../src/upstream/limiter.js')>(
  '../../src/upstream/limiter.js',
  { 'node:timers': timers }
)

/** How many of the limiter's timers run now: `ref` keep the process alive, `unref` do not. */
function timerCounts (): { ref: number, unref: number } {
  const refs = [...live].filter((timer) => timer.hasRef()).length
  return { ref: refs, unref: live.size - refs }
}

/** A limiter on a clock that moves only when told; `advance` moves it by ms. */
function limiterAt (options: Partial<LimiterOptions>): { limiter: Limiter, advance: (ms: number) => void } {
  let time = 1_000_000
  const limiter = new UpstreamLimiter({
    maxConcurrent: 2,
    maxPerSecond: 1000,
    queueLimit: 10,
    // Never reached except where a test sets it lower: it bounds a wait, it is not waited for.
    queueTimeoutMs: 1000,
    now: () => time,
    ...options
  })
  return { limiter, advance: (ms) => { time += ms } }
}

/** Every test ends here: once nobody waits, the limiter has no timer left running. */
function noTimersLeft (t: Test): void {
  t.same(timerCounts(), { ref: 0, unref: 0 }, 'no timer left running')
}

/** Settles on the next turn of the event loop, so a test can see what a promise has done by now. */
async function stateOf (promise: Promise<unknown>): Promise<'pending' | 'resolved' | 'rejected'> {
  const pending = Symbol('pending')
  try {
    const value = await Promise.race([promise, wait(0, pending)])
    return value === pending ? 'pending' : 'resolved'
  } catch {
    return 'rejected'
  }
}

t.test('starts calls at once up to maxConcurrent, then queues them', async (t) => {
  const { limiter } = limiterAt({ maxConcurrent: 2 })
  const first = await limiter.acquire()
  await limiter.acquire()
  const third = limiter.acquire()
  t.equal(limiter.active, 2)
  t.equal(limiter.queued, 1)
  t.equal(await stateOf(third), 'pending')
  first()
  const releaseThird = await third
  t.equal(limiter.active, 2, 'the waiter took the freed slot')
  t.equal(limiter.queued, 0)
  releaseThird()
  t.equal(limiter.active, 1)
  noTimersLeft(t)
})

t.test('starts waiters in the order they came', async (t) => {
  const { limiter } = limiterAt({ maxConcurrent: 1 })
  const release = await limiter.acquire()
  const order: number[] = []
  const waiting = [1, 2, 3].map(async (n) => {
    const done = await limiter.acquire()
    order.push(n)
    done()
  })
  release()
  await Promise.all(waiting)
  t.same(order, [1, 2, 3])
  t.equal(limiter.active, 0)
  noTimersLeft(t)
})

t.test('release is idempotent: a second call frees nothing more', async (t) => {
  const { limiter } = limiterAt({ maxConcurrent: 1 })
  const release = await limiter.acquire()
  const second = limiter.acquire()
  const third = limiter.acquire()
  release()
  release()
  t.equal(await stateOf(second), 'resolved')
  t.equal(await stateOf(third), 'pending', 'still one call at a time')
  t.equal(limiter.active, 1)
  ;(await second)()
  ;(await third)()
  t.equal(limiter.active, 0)
  noTimersLeft(t)
})

t.test('rejects at once, with a Retry-After, when the queue is full', async (t) => {
  const { limiter } = limiterAt({ maxConcurrent: 1, queueLimit: 1 })
  const release = await limiter.acquire()
  const waiting = limiter.acquire()
  await t.rejects(limiter.acquire(), { code: 'PROXY_UPSTREAM_OVERLOADED', statusCode: 503, retryAfterSeconds: 1 })
  t.equal(limiter.queued, 1, 'the one already waiting keeps its place')
  release()
  ;(await waiting)()
  noTimersLeft(t)
})

t.test('with queueLimit 0 nobody waits', async (t) => {
  const { limiter } = limiterAt({ maxConcurrent: 1, queueLimit: 0, queueTimeoutMs: 2500 })
  const release = await limiter.acquire()
  await t.rejects(limiter.acquire(), { code: 'PROXY_UPSTREAM_OVERLOADED', retryAfterSeconds: 3 }, 'Retry-After covers the longest wait')
  release()
  noTimersLeft(t)
})

t.test('a caller that waited queueTimeoutMs is rejected and leaves the queue', async (t) => {
  const { limiter } = limiterAt({ maxConcurrent: 1, queueTimeoutMs: 20 })
  const release = await limiter.acquire()
  const started = performance.now()
  await t.rejects(limiter.acquire(), { code: 'PROXY_UPSTREAM_OVERLOADED', retryAfterSeconds: 1 })
  t.ok(performance.now() - started >= 19, 'waited the queue timeout')
  t.equal(limiter.queued, 0)
  t.equal(limiter.active, 1, 'the running call is untouched')
  release()
  t.equal(limiter.active, 0)
  noTimersLeft(t)
})

t.test('an abort while waiting rejects with the signal\'s reason and removes the listener', async (t) => {
  const { limiter } = limiterAt({ maxConcurrent: 1 })
  const release = await limiter.acquire()
  const controller = new AbortController()
  const waiting = limiter.acquire(controller.signal)
  const behind = limiter.acquire()
  t.equal(getEventListeners(controller.signal, 'abort').length, 1)
  const reason = new Error('client went away')
  controller.abort(reason)
  await t.rejects(waiting, reason)
  t.equal(limiter.queued, 1, 'the next one keeps waiting')
  release()
  ;(await behind)()
  t.equal(limiter.active, 0)
  noTimersLeft(t)
})

t.test('an aborted signal is refused at once, even with a slot free', async (t) => {
  const { limiter } = limiterAt({})
  await t.rejects(limiter.acquire(AbortSignal.abort()), { name: 'AbortError' })
  t.equal(limiter.active, 0)
  t.equal(limiter.queued, 0)
  noTimersLeft(t)
})

t.test('once started, a call no longer listens to its signal', async (t) => {
  const { limiter } = limiterAt({ maxConcurrent: 1 })
  const release = await limiter.acquire()
  const controller = new AbortController()
  const waiting = limiter.acquire(controller.signal)
  release()
  const releaseWaiter = await waiting
  t.equal(getEventListeners(controller.signal, 'abort').length, 0)
  controller.abort()
  t.equal(limiter.active, 1, 'aborting afterwards changes nothing')
  releaseWaiter()
  noTimersLeft(t)
})

t.test('a caller that times out no longer listens to its signal', async (t) => {
  const { limiter } = limiterAt({ maxConcurrent: 1, queueTimeoutMs: 5 })
  const release = await limiter.acquire()
  const controller = new AbortController()
  await t.rejects(limiter.acquire(controller.signal), { code: 'PROXY_UPSTREAM_OVERLOADED' })
  t.equal(getEventListeners(controller.signal, 'abort').length, 0)
  release()
  noTimersLeft(t)
})

t.test('starts at most maxPerSecond calls in a burst, then one per token as the clock moves', async (t) => {
  // 100 a second: a token every 10 ms of the injected clock.
  const { limiter, advance } = limiterAt({ maxConcurrent: 1000, maxPerSecond: 100 })
  for (let i = 0; i < 100; i++) (await limiter.acquire())()
  const next = limiter.acquire()
  const after = limiter.acquire()
  t.equal(limiter.queued, 2, 'the bucket is empty')
  t.same(timerCounts(), { ref: 2, unref: 1 }, 'two queue timeouts and one unref\'d rate timer')
  advance(10)
  await wait(15)
  t.equal(await stateOf(next), 'resolved', 'one token later, the first waiter started')
  t.equal(await stateOf(after), 'pending', 'the second waits for the next token')
  advance(10)
  await wait(15)
  t.equal(await stateOf(after), 'resolved')
  t.equal(limiter.active, 2)
  noTimersLeft(t)
})

t.test('the rate follows the injected clock, not the wall clock', async (t) => {
  const { limiter, advance } = limiterAt({ maxConcurrent: 1000, maxPerSecond: 100 })
  for (let i = 0; i < 100; i++) await limiter.acquire()
  const next = limiter.acquire()
  await wait(25)
  t.equal(await stateOf(next), 'pending', 'real time passed, but no token accrued')
  t.same(timerCounts(), { ref: 1, unref: 1 }, 'still exactly one rate timer')
  advance(10)
  await wait(15)
  t.equal(await stateOf(next), 'resolved')
  noTimersLeft(t)
})

t.test('the bucket refills continuously, up to maxPerSecond and no further', async (t) => {
  const { limiter, advance } = limiterAt({ maxConcurrent: 1000, maxPerSecond: 10 })
  for (let i = 0; i < 10; i++) await limiter.acquire()
  advance(250)
  await limiter.acquire()
  await limiter.acquire()
  const third = new AbortController()
  const blocked = limiter.acquire(third.signal)
  t.equal(limiter.queued, 1, '250 ms earn 2.5 tokens: two calls, not three')
  third.abort()
  await t.rejects(blocked)
  advance(60_000)
  for (let i = 0; i < 10; i++) await limiter.acquire()
  t.equal(limiter.active, 22)
  const eleventh = new AbortController()
  const over = limiter.acquire(eleventh.signal)
  t.equal(limiter.queued, 1, 'a minute idle fills the bucket to 10, not 600')
  eleventh.abort()
  await t.rejects(over)
  noTimersLeft(t)
})

t.test('a clock set back does not drain the bucket', async (t) => {
  const { limiter, advance } = limiterAt({ maxConcurrent: 1000, maxPerSecond: 10 })
  advance(-60_000)
  for (let i = 0; i < 10; i++) await limiter.acquire()
  t.equal(limiter.active, 10)
  noTimersLeft(t)
})

t.test('while concurrency is what blocks, no rate timer runs', async (t) => {
  const { limiter } = limiterAt({ maxConcurrent: 1, maxPerSecond: 1000 })
  const release = await limiter.acquire()
  const waiting = limiter.acquire()
  t.same(timerCounts(), { ref: 1, unref: 0 }, 'only the queue timeout')
  release()
  ;(await waiting)()
  noTimersLeft(t)
})

t.test('the rate timer stops when the queue empties by abort', async (t) => {
  const { limiter } = limiterAt({ maxConcurrent: 1000, maxPerSecond: 1 })
  await limiter.acquire()
  const controller = new AbortController()
  const waiting = limiter.acquire(controller.signal)
  t.same(timerCounts(), { ref: 1, unref: 1 })
  controller.abort()
  await t.rejects(waiting)
  noTimersLeft(t)
})

t.test('uses Date.now unless given a clock', async (t) => {
  const limiter = new UpstreamLimiter({ maxConcurrent: 1, maxPerSecond: 1, queueLimit: 0, queueTimeoutMs: 0 })
  const release = await limiter.acquire()
  t.equal(limiter.active, 1)
  release()
  noTimersLeft(t)
})

t.test('refuses options that would never let a call start', async (t) => {
  const good = { maxConcurrent: 1, maxPerSecond: 1, queueLimit: 0, queueTimeoutMs: 0 }
  t.throws(() => new UpstreamLimiter({ ...good, maxConcurrent: 0 }), { code: 'ERR_ASSERTION' })
  t.throws(() => new UpstreamLimiter({ ...good, maxConcurrent: 1.5 }), { code: 'ERR_ASSERTION' })
  t.throws(() => new UpstreamLimiter({ ...good, maxPerSecond: 0.5 }), { code: 'ERR_ASSERTION' })
  t.throws(() => new UpstreamLimiter({ ...good, maxPerSecond: Infinity }), { code: 'ERR_ASSERTION' })
  t.throws(() => new UpstreamLimiter({ ...good, queueLimit: -1 }), { code: 'ERR_ASSERTION' })
  t.throws(() => new UpstreamLimiter({ ...good, queueTimeoutMs: Number.NaN }), { code: 'ERR_ASSERTION' })
  t.throws(() => new UpstreamLimiter({ ...good, maxPerCaller: 0 }), { code: 'ERR_ASSERTION' })
})

t.test('one caller has at most maxPerCaller calls running or waiting; others still get slots and queue places', async (t) => {
  const { limiter } = limiterAt({ maxConcurrent: 3, queueLimit: 3, maxPerCaller: 2 })
  const a1 = await limiter.acquire(undefined, 'alice')
  const a2 = await limiter.acquire(undefined, 'alice')
  await t.rejects(limiter.acquire(undefined, 'alice'), { code: 'PROXY_UPSTREAM_SHARE_EXCEEDED', statusCode: 429, retryAfterSeconds: 1 }, 'refused at once, though a slot is free')
  const b1 = await limiter.acquire(undefined, 'bob')
  t.equal(limiter.active, 3)
  // Waiting counts against the share as running does.
  const b2 = limiter.acquire(undefined, 'bob')
  await t.rejects(limiter.acquire(undefined, 'bob'), { code: 'PROXY_UPSTREAM_SHARE_EXCEEDED' })
  const own = limiter.acquire()
  t.equal(limiter.queued, 2, 'the proxy\'s own calls have no share to exceed')
  a1()
  a1()
  const b2release = await b2
  // Released twice, counted once: alice's one waiting call and a2 fill her share again.
  const a3 = limiter.acquire(undefined, 'alice')
  await t.rejects(limiter.acquire(undefined, 'alice'), { code: 'PROXY_UPSTREAM_SHARE_EXCEEDED' })
  t.equal(await stateOf(a3), 'pending')
  b2release()
  ;(await own)()
  a2()
  ;(await a3)()
  b1()
  t.equal(limiter.active, 0)
  t.equal(limiter.queued, 0)
  // Every share is back: a caller may fill it again.
  const again = [await limiter.acquire(undefined, 'alice'), await limiter.acquire(undefined, 'alice')]
  for (const release of again) release()
  noTimersLeft(t)
})

t.test('a waiter that times out or aborts gives its place in the share back', async (t) => {
  const { limiter } = limiterAt({ maxConcurrent: 1, queueLimit: 5, queueTimeoutMs: 20, maxPerCaller: 2 })
  const running = await limiter.acquire(undefined, 'alice')
  await t.rejects(limiter.acquire(undefined, 'alice'), { code: 'PROXY_UPSTREAM_OVERLOADED' }, 'timed out in the queue')
  const aborted = new AbortController()
  const waiting = limiter.acquire(aborted.signal, 'alice')
  aborted.abort(new Error('left'))
  await t.rejects(waiting, { message: 'left' })
  const last = limiter.acquire(undefined, 'alice')
  running()
  ;(await last)()
  noTimersLeft(t)
})

t.test('a call entered in its caller\'s share holds its place until it leaves, whatever slots it takes meanwhile', async (t) => {
  const { limiter } = limiterAt({ maxConcurrent: 2, queueLimit: 2, maxPerCaller: 2 })
  const leave = limiter.enter('alice')
  // Its turns take slots without a caller: the share is counted once, by the entry.
  const turn = await limiter.acquire()
  turn()
  const other = await limiter.acquire(undefined, 'alice')
  t.throws(() => limiter.enter('alice'), { code: 'PROXY_UPSTREAM_SHARE_EXCEEDED', statusCode: 429, retryAfterSeconds: 1 }, 'the entry and a running call fill the share')
  await t.rejects(limiter.acquire(undefined, 'alice'), { code: 'PROXY_UPSTREAM_SHARE_EXCEEDED' })
  leave()
  leave()
  // Left twice, counted once: one place is free again, not two.
  const again = limiter.enter('alice')
  t.throws(() => limiter.enter('alice'), { code: 'PROXY_UPSTREAM_SHARE_EXCEEDED' })
  again()
  other()
  // The proxy's own calls have no share.
  for (let i = 0; i < 5; i++) limiter.enter(undefined)()
  t.equal(limiter.active, 0)
  noTimersLeft(t)
})

t.test('a call refused for a full queue gives its place in the share back at once', async (t) => {
  const { limiter } = limiterAt({ maxConcurrent: 1, queueLimit: 0, maxPerCaller: 1 })
  const running = await limiter.acquire()
  await t.rejects(limiter.acquire(undefined, 'alice'), { code: 'PROXY_UPSTREAM_OVERLOADED' })
  running()
  ;(await limiter.acquire(undefined, 'alice'))()
  t.equal(limiter.active, 0)
})
