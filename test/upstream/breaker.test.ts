// The circuit breaker: opens after consecutive failures, lets one probe through after the
// cooldown, and closes or re-opens on what that probe reports. Time is an injected clock.
import t from 'tap'
import { CircuitBreaker, type BreakerOptions } from '../../src/upstream/breaker.js'

/** A breaker on a clock that moves only when told. */
function breakerAt (options: Partial<BreakerOptions> = {}): { breaker: CircuitBreaker, advance: (ms: number) => void } {
  let time = 1_000_000
  const breaker = new CircuitBreaker({ failureThreshold: 3, cooldownMs: 10_000, now: () => time, ...options })
  return { breaker, advance: (ms) => { time += ms } }
}

function failTimes (breaker: CircuitBreaker, times: number): void {
  for (let i = 0; i < times; i++) {
    breaker.admit()
    breaker.failure()
  }
}

t.test('stays closed below the threshold', async (t) => {
  const { breaker } = breakerAt()
  failTimes(breaker, 2)
  t.equal(breaker.state, 'closed')
  t.doesNotThrow(() => breaker.admit())
  t.equal(breaker.openings, 0)
})

t.test('opens at the threshold of consecutive failures and refuses calls with a Retry-After', async (t) => {
  const { breaker, advance } = breakerAt()
  failTimes(breaker, 3)
  t.equal(breaker.state, 'open')
  t.equal(breaker.openings, 1)
  t.throws(() => breaker.admit(), { code: 'PROXY_UPSTREAM_CIRCUIT_OPEN', statusCode: 503, retryAfterSeconds: 10 })
  advance(8_500)
  t.throws(() => breaker.admit(), { code: 'PROXY_UPSTREAM_CIRCUIT_OPEN', retryAfterSeconds: 2 }, 'rounded up')
  advance(1_499)
  t.throws(() => breaker.admit(), { code: 'PROXY_UPSTREAM_CIRCUIT_OPEN', retryAfterSeconds: 1 }, 'never below 1')
  t.equal(breaker.state, 'open', 'until the very end of the cooldown')
})

t.test('a success resets the count: only consecutive failures open it', async (t) => {
  const { breaker } = breakerAt()
  failTimes(breaker, 2)
  breaker.admit()
  breaker.success()
  failTimes(breaker, 2)
  t.equal(breaker.state, 'closed')
  failTimes(breaker, 1)
  t.equal(breaker.state, 'open')
})

t.test('after the cooldown it lets exactly one probe through', async (t) => {
  const { breaker, advance } = breakerAt()
  failTimes(breaker, 3)
  advance(10_000)
  t.equal(breaker.state, 'half-open')
  t.doesNotThrow(() => breaker.admit(), 'the probe')
  t.throws(() => breaker.admit(), { code: 'PROXY_UPSTREAM_CIRCUIT_OPEN', retryAfterSeconds: 1 }, 'others, while it is out')
  t.throws(() => breaker.admit(), { code: 'PROXY_UPSTREAM_CIRCUIT_OPEN', retryAfterSeconds: 1 })
  t.equal(breaker.state, 'half-open')
})

t.test('a successful probe closes the circuit and resets the count', async (t) => {
  const { breaker, advance } = breakerAt()
  failTimes(breaker, 3)
  advance(10_000)
  breaker.admit()
  breaker.success()
  t.equal(breaker.state, 'closed')
  t.doesNotThrow(() => breaker.admit())
  breaker.success()
  failTimes(breaker, 2)
  t.equal(breaker.state, 'closed', 'counting starts again from zero')
  t.equal(breaker.openings, 1)
})

t.test('a failed probe re-opens the circuit for a full cooldown', async (t) => {
  const { breaker, advance } = breakerAt()
  failTimes(breaker, 3)
  advance(60_000)
  breaker.admit()
  breaker.failure()
  t.equal(breaker.state, 'open')
  t.equal(breaker.openings, 2)
  t.throws(() => breaker.admit(), { code: 'PROXY_UPSTREAM_CIRCUIT_OPEN', retryAfterSeconds: 10 })
  advance(9_999)
  t.throws(() => breaker.admit())
  advance(1)
  t.doesNotThrow(() => breaker.admit(), 'the next probe')
})

t.test('late reports from calls admitted before it opened change nothing', async (t) => {
  const { breaker, advance } = breakerAt()
  for (let i = 0; i < 5; i++) breaker.admit()
  breaker.failure()
  breaker.failure()
  breaker.failure()
  breaker.success()
  t.equal(breaker.state, 'open', 'a late success does not close it')
  advance(5_000)
  breaker.failure()
  t.equal(breaker.openings, 1, 'a late failure does not re-open it')
  advance(5_000)
  t.equal(breaker.state, 'half-open', 'nor stretch the cooldown')
  breaker.success()
  breaker.failure()
  t.equal(breaker.state, 'half-open', 'reports before the probe is admitted are ignored too')
  t.doesNotThrow(() => breaker.admit(), 'the probe still gets through')
})

t.test('a threshold of 1 opens on the first failure', async (t) => {
  const { breaker } = breakerAt({ failureThreshold: 1 })
  failTimes(breaker, 1)
  t.equal(breaker.state, 'open')
})

t.test('uses Date.now unless given a clock', async (t) => {
  const breaker = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 60_000 })
  failTimes(breaker, 1)
  t.throws(() => breaker.admit(), { code: 'PROXY_UPSTREAM_CIRCUIT_OPEN', retryAfterSeconds: 60 })
})

t.test('refuses options that make no sense', async (t) => {
  t.throws(() => new CircuitBreaker({ failureThreshold: 0, cooldownMs: 1000 }), { code: 'ERR_ASSERTION' })
  t.throws(() => new CircuitBreaker({ failureThreshold: 2.5, cooldownMs: 1000 }), { code: 'ERR_ASSERTION' })
  t.throws(() => new CircuitBreaker({ failureThreshold: 1, cooldownMs: -1 }), { code: 'ERR_ASSERTION' })
})

t.test('with minPaths, failures of one call however many do not open it; failures spread over that many calls do', async (t) => {
  const { breaker } = breakerAt({ minPaths: 3 })
  for (let i = 0; i < 50; i++) breaker.failure('/api/v1/computations/a')
  breaker.failure('/api/v1/computations/b')
  t.equal(breaker.state, 'closed', 'two different calls are not enough')
  breaker.failure('/api/v1/computations/c')
  t.equal(breaker.state, 'open', 'a third different call is')
})

t.test('with minPaths, a failure to connect counts as a different call each time', async (t) => {
  const { breaker } = breakerAt({ minPaths: 3 })
  failTimes(breaker, 3)
  t.equal(breaker.state, 'open')
})

t.test('a success forgets which calls had failed', async (t) => {
  const { breaker } = breakerAt({ minPaths: 3 })
  breaker.failure('/a')
  breaker.failure('/b')
  breaker.success()
  for (let i = 0; i < 3; i++) breaker.failure('/c')
  t.equal(breaker.state, 'closed', '/a and /b no longer count')
  breaker.failure('/d')
  breaker.failure('/e')
  t.equal(breaker.state, 'open')
})

t.test('minPaths above the threshold asks no more different calls than there are failures', async (t) => {
  const { breaker } = breakerAt({ failureThreshold: 2, minPaths: 10 })
  breaker.failure('/a')
  breaker.failure('/b')
  t.equal(breaker.state, 'open')
  t.throws(() => new CircuitBreaker({ failureThreshold: 1, cooldownMs: 1, minPaths: 0 }), { code: 'ERR_ASSERTION' })
})
