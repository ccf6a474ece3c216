// Which outcomes are retried, how long to wait between attempts, and when to give up.
import t from 'tap'
import type { FailureClass } from '../../src/upstream/failures.js'
import { retryable as isRetryable, type AttemptOutcome } from '../../src/upstream/outcome.js'
import { retryDelay, sleep, type RetryPolicy } from '../../src/upstream/retry.js'

const policy: RetryPolicy = { attempts: 4, baseDelayMs: 100, maxDelayMs: 1000, budgetMs: 10_000 }
const answer = (status: number, retryAfter?: string): AttemptOutcome =>
  retryAfter === undefined ? { kind: 'answer', status } : { kind: 'answer', status, retryAfter }
// Any name, even one no failure is given (credential_rejected), must not be retried unless it is one of connecting.
const failure = (errorClass: string): AttemptOutcome => ({ kind: 'failure', errorClass: errorClass as FailureClass })
const always = (value: number) => () => value
const NOW = Date.parse('2025-01-01T00:00:00Z')
const clock = always(NOW)

t.test('retries only answers that say "not now" and failures where nothing was sent', async (t) => {
  for (const status of [429, 502, 503, 504]) t.ok(isRetryable(answer(status)), `${status}`)
  for (const status of [200, 201, 400, 401, 404, 409, 500, 501]) t.notOk(isRetryable(answer(status)), `${status}`)
  for (const errorClass of ['refused', 'unreachable', 'connect_timeout']) t.ok(isRetryable(failure(errorClass)), errorClass)
  for (const errorClass of ['timeout', 'reset', 'protocol', 'closed', 'credential_rejected']) {
    t.notOk(isRetryable(failure(errorClass)), errorClass)
    t.equal(retryDelay(policy, failure(errorClass), 1, 0, always(0.5), clock), undefined, `${errorClass}: no delay`)
  }
  t.equal(retryDelay(policy, answer(500), 1, 0, always(0.5), clock), undefined, '500: no delay')
})

t.test('backs off exponentially with full jitter, capped at maxDelayMs', async (t) => {
  const wide = { ...policy, attempts: 10 }
  t.equal(retryDelay(wide, answer(503), 1, 0, always(0.5), clock), 50)
  t.equal(retryDelay(wide, answer(503), 2, 0, always(0.5), clock), 100)
  t.equal(retryDelay(wide, answer(503), 3, 0, always(0.5), clock), 200)
  t.equal(retryDelay(wide, failure('refused'), 5, 0, always(0.5), clock), 500, 'capped: 1600 → 1000')
  t.equal(retryDelay(wide, answer(503), 3, 0, always(0), clock), 0, 'jitter can mean no wait')
  t.equal(retryDelay(wide, answer(503), 3, 0, always(0.99999), clock), 400, 'rounded')
  t.equal(retryDelay(wide, answer(503), 1, 0, always(0.123), clock), 12, 'rounded down')
})

t.test('uses Math.random and Date.now unless told otherwise', async (t) => {
  const delay = retryDelay(policy, answer(503), 2, 0)
  t.ok(delay !== undefined && delay >= 0 && delay <= 200, `${delay} within [0, 200]`)
  const date = new Date(Date.now() + 60_000).toUTCString()
  const late = retryDelay({ ...policy, budgetMs: 120_000 }, answer(429, date), 1, 0)
  t.ok(late !== undefined && late > 55_000 && late <= 60_000, `${late} about a minute`)
})

t.test('stops after the last attempt', async (t) => {
  t.equal(retryDelay(policy, answer(503), 3, 0, always(0.5), clock), 200, 'third of four')
  t.equal(retryDelay(policy, answer(503), 4, 0, always(0.5), clock), undefined, 'fourth of four')
  t.equal(retryDelay({ ...policy, attempts: 1 }, answer(503), 1, 0, always(0), clock), undefined, 'attempts 1: never')
})

t.test('stops when the wait would end past the budget', async (t) => {
  const tight = { ...policy, budgetMs: 1000 }
  t.equal(retryDelay(tight, answer(503), 2, 900, always(0.5), clock), 100, 'ends exactly at the budget')
  t.equal(retryDelay(tight, answer(503), 2, 901, always(0.5), clock), undefined, 'one ms over')
  t.equal(retryDelay(tight, answer(503), 1, 1001, always(0), clock), undefined, 'already past it')
})

t.test('waits at least as long as a Retry-After in seconds', async (t) => {
  t.equal(retryDelay(policy, answer(429, '2'), 1, 0, always(0.5), clock), 2000, 'longer than the backoff')
  t.equal(retryDelay(policy, answer(503, ' 3 '), 1, 0, always(0.5), clock), 3000, 'surrounding spaces')
  t.equal(retryDelay(policy, answer(503, '0'), 3, 0, always(0.5), clock), 200, 'shorter than the backoff')
})

t.test('waits until a Retry-After date, not before it', async (t) => {
  const inFiveSeconds = new Date(NOW + 5000).toUTCString()
  t.equal(retryDelay(policy, answer(503, inFiveSeconds), 1, 0, always(0.5), clock), 5000, 'IMF-fixdate')
  t.equal(retryDelay(policy, answer(503, 'Wednesday, 01-Jan-25 00:00:04 GMT'), 1, 0, always(0), clock), 4000, 'RFC 850 date')
  const past = new Date(NOW - 60_000).toUTCString()
  t.equal(retryDelay(policy, answer(503, past), 2, 0, always(0.5), clock), 100, 'a past date counts as 0')
})

t.test('does not retry when Retry-After asks for more than the budget has left', async (t) => {
  const tight = { ...policy, budgetMs: 5000 }
  t.equal(retryDelay(tight, answer(429, '5'), 1, 0, always(0), clock), 5000, 'fits exactly')
  t.equal(retryDelay(tight, answer(429, '5'), 1, 1, always(0), clock), undefined, 'one ms short')
  t.equal(retryDelay(tight, answer(429, '3600'), 1, 0, always(0), clock), undefined, 'an hour')
  const tomorrow = new Date(NOW + 86_400_000).toUTCString()
  t.equal(retryDelay(tight, answer(503, tomorrow), 1, 0, always(0), clock), undefined, 'tomorrow')
})

t.test('ignores a Retry-After it cannot read', async (t) => {
  for (const value of ['', 'soon', '1.5', '-1', '3000.5', '2 s', 'Not a date, 99 Foo 2025']) {
    t.equal(retryDelay(policy, answer(503, value), 2, 0, always(0.5), clock), 100, JSON.stringify(value))
  }
})

t.test('sleep resolves true once the time has passed', async (t) => {
  const started = performance.now()
  t.equal(await sleep(10), true)
  t.ok(performance.now() - started >= 9, 'waited')
  t.equal(await sleep(1, new AbortController().signal), true, 'with a signal that stays quiet')
})

t.test('sleep resolves false at once when the signal aborts', async (t) => {
  const controller = new AbortController()
  const started = performance.now()
  const slept = sleep(10_000, controller.signal)
  controller.abort()
  t.equal(await slept, false)
  t.ok(performance.now() - started < 5_000, 'did not wait the full time')
  t.equal(await sleep(50, AbortSignal.abort()), false, 'already aborted')
})

t.test('sleep passes on errors other than an abort', async (t) => {
  await t.rejects(sleep(1, {} as AbortSignal), { code: 'ERR_INVALID_ARG_TYPE' })
})
