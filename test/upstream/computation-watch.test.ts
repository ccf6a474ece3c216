// The wait mechanism: one poll loop per computation however many callers wait, ending on a
// terminal or non-200 answer, a timeout, an abort or close, and leaving no timers behind.
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import type { BufferedAnswer } from '../../src/upstream/coalesce.js'
import { ComputationWatcher, type WaitOutcome } from '../../src/upstream/computation-watch.js'

const INTERVAL_MS = 20

function answerWith (state: string, status = 200): BufferedAnswer {
  return { status, headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify({ state })) }
}

const isTerminal = (answer: BufferedAnswer): boolean => (JSON.parse(answer.body.toString()) as { state: string }).state === 'completed'

type Step = BufferedAnswer | Error

/** A Code Ocean stand-in: each computation answers its script in turn, repeating the last step. */
function scriptedUpstream (scripts: Record<string, Step[]>) {
  const polls: Array<{ computationId: string, at: number }> = []
  return {
    polls,
    pollsOf: (computationId: string): number => polls.filter((poll) => poll.computationId === computationId).length,
    fetch: async (computationId: string): Promise<BufferedAnswer> => {
      const script = scripts[computationId] ?? []
      const step = script[Math.min(polls.filter((poll) => poll.computationId === computationId).length, script.length - 1)]
      polls.push({ computationId, at: performance.now() })
      if (step === undefined) throw new Error(`no script for ${computationId}`)
      if (step instanceof Error) throw step
      return step
    }
  }
}

/** Timers Node holds now: the watcher must give back what it took. */
const activeTimers = (): number => process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length

t.test('100 waiters on one computation cost one poll per interval, and its end resolves them all', async (t) => {
  const timersBefore = activeTimers()
  const completed = answerWith('completed')
  const upstream = scriptedUpstream({ 'c-1': [answerWith('running'), answerWith('running'), completed] })
  const watcher = new ComputationWatcher({ intervalMs: INTERVAL_MS, fetch: upstream.fetch, isTerminal })
  const waits = Array.from({ length: 100 }, async () => await watcher.wait('c-1', 5_000))
  t.equal(upstream.polls.length, 1, 'the first waiter polls at once, the others join')
  t.equal(watcher.watching, 1)
  t.equal(watcher.waiters, 100)

  const outcomes = await Promise.all(waits)
  t.equal(upstream.polls.length, 3, 'running, running, completed: three polls in all')
  for (const [index, poll] of upstream.polls.entries()) {
    const previous = upstream.polls[index - 1]
    if (previous !== undefined) t.ok(poll.at - previous.at >= INTERVAL_MS - 1, `poll ${index + 1} waited the interval`)
  }
  t.ok(outcomes.every((outcome) => outcome.kind === 'terminal' && outcome.answer === completed), 'every waiter gets the terminal answer')
  t.equal(watcher.watching, 0)
  t.equal(watcher.waiters, 0)
  t.equal(activeTimers(), timersBefore, 'no timer left behind')
})

t.test('a waiter joining a loop that has a recent running answer does not poll again', async (t) => {
  const upstream = scriptedUpstream({ 'c-1': [answerWith('running'), answerWith('completed')] })
  const watcher = new ComputationWatcher({ intervalMs: INTERVAL_MS, fetch: upstream.fetch, isTerminal })
  const first = watcher.wait('c-1', 5_000)
  await sleep(INTERVAL_MS / 2)
  t.equal(upstream.polls.length, 1, 'the running answer has landed')
  const second = watcher.wait('c-1', 5_000)
  t.equal(upstream.polls.length, 1, 'joining costs no poll')
  t.same([(await first).kind, (await second).kind], ['terminal', 'terminal'])
  t.equal(upstream.polls.length, 2)
})

t.test('a non-200 answer ends the wait and is passed on as it is', async (t) => {
  const gone = answerWith('gone', 404)
  const upstream = scriptedUpstream({ 'c-1': [answerWith('running'), gone] })
  const watcher = new ComputationWatcher({ intervalMs: INTERVAL_MS, fetch: upstream.fetch, isTerminal })
  const outcomes = await Promise.all([watcher.wait('c-1', 5_000), watcher.wait('c-1', 5_000)])
  t.same(outcomes, [{ kind: 'answer', answer: gone }, { kind: 'answer', answer: gone }])
  t.equal(outcomes[0]?.kind === 'answer' && outcomes[0].answer, gone, 'the very object fetched')
  await sleep(INTERVAL_MS * 2)
  t.equal(upstream.polls.length, 2, 'polling stopped')
  t.equal(watcher.watching, 0)
})

t.test('a timeout resolves with the latest answer and stops polling', async (t) => {
  const timersBefore = activeTimers()
  const running = answerWith('running')
  const upstream = scriptedUpstream({ 'c-1': [running] })
  const watcher = new ComputationWatcher({ intervalMs: 10, fetch: upstream.fetch, isTerminal })
  const outcome = await watcher.wait('c-1', 55)
  t.same(outcome, { kind: 'timeout', latest: running, error: undefined })
  t.ok(upstream.polls.length >= 3, `kept polling until the timeout (${upstream.polls.length} polls)`)
  t.equal(watcher.watching, 0)
  t.equal(watcher.waiters, 0)
  t.equal(activeTimers(), timersBefore, 'the next poll was cancelled')
  const polls = upstream.polls.length
  await sleep(30)
  t.equal(upstream.polls.length, polls, 'no poll after the last waiter left')
})

t.test('failed polls do not end the wait: a timeout with no answer reports the last failure', async (t) => {
  const failures = [new Error('reset 1'), new Error('reset 2')]
  const upstream = scriptedUpstream({ 'c-1': failures })
  const watcher = new ComputationWatcher({ intervalMs: 10, fetch: upstream.fetch, isTerminal })
  const outcome = await watcher.wait('c-1', 55)
  t.same(outcome, { kind: 'timeout', latest: undefined, error: failures[1] })
  t.ok(upstream.polls.length >= 3, 'polling went on after failures')
})

t.test('a failure after an answer keeps the answer as what a timeout reports', async (t) => {
  const running = answerWith('running')
  const upstream = scriptedUpstream({ 'c-1': [running, new Error('reset')] })
  const watcher = new ComputationWatcher({ intervalMs: 10, fetch: upstream.fetch, isTerminal })
  t.same(await watcher.wait('c-1', 45), { kind: 'timeout', latest: running, error: undefined })
})

t.test('a timeout before the first poll lands reports neither answer nor failure', async (t) => {
  let land: (answer: BufferedAnswer) => void = () => {}
  const watcher = new ComputationWatcher({
    intervalMs: INTERVAL_MS,
    fetch: async () => await new Promise((resolve) => { land = resolve }),
    isTerminal
  })
  t.same(await watcher.wait('c-1', 10), { kind: 'timeout', latest: undefined, error: undefined })
  land(answerWith('running'))
})

t.test('a wait recovers from failures and ends on the terminal answer', async (t) => {
  const completed = answerWith('completed')
  const upstream = scriptedUpstream({ 'c-1': [new Error('reset'), answerWith('running'), new Error('timeout'), completed] })
  const watcher = new ComputationWatcher({ intervalMs: 10, fetch: upstream.fetch, isTerminal })
  t.same(await watcher.wait('c-1', 5_000), { kind: 'terminal', answer: completed })
  t.equal(upstream.polls.length, 4)
})

t.test('a fetch that throws, or an answer isTerminal cannot read, counts as a failed poll', async (t) => {
  const completed = answerWith('completed')
  const unreadable: BufferedAnswer = { status: 200, headers: {}, body: Buffer.from('<html>') }
  let calls = 0
  const watcher = new ComputationWatcher({
    intervalMs: 10,
    fetch: (): Promise<BufferedAnswer> => {
      calls++
      if (calls === 1) throw new Error('thrown, not rejected')
      return Promise.resolve(calls === 2 ? unreadable : completed)
    },
    isTerminal
  })
  t.same(await watcher.wait('c-1', 5_000), { kind: 'terminal', answer: completed })
  t.equal(calls, 3)
})

t.test('an aborted waiter is dropped with the latest answer; the others keep waiting', async (t) => {
  const running = answerWith('running')
  const upstream = scriptedUpstream({ 'c-1': [running] })
  const watcher = new ComputationWatcher({ intervalMs: INTERVAL_MS, fetch: upstream.fetch, isTerminal })
  const leaving = new AbortController()
  const staying = new AbortController()
  const left = watcher.wait('c-1', 5_000, leaving.signal)
  const stays = watcher.wait('c-1', 5_000, staying.signal)
  await sleep(INTERVAL_MS / 2)
  leaving.abort()
  t.same(await left, { kind: 'closed', latest: running })
  t.equal(watcher.waiters, 1)
  t.equal(watcher.watching, 1, 'the loop goes on for the other waiter')

  t.same(await watcher.wait('c-1', 5_000, AbortSignal.abort()), { kind: 'closed', latest: running }, 'an aborted signal returns at once')
  staying.abort()
  t.same(await stays, { kind: 'closed', latest: running })
  t.equal(watcher.watching, 0, 'the loop stops with its last waiter')
  t.same(await watcher.wait('c-2', 5_000, AbortSignal.abort()), { kind: 'closed', latest: undefined })
  t.equal(upstream.pollsOf('c-2'), 0, 'an aborted signal costs no poll')
})

t.test('close releases every waiter, stops all loops and answers later waits at once', async (t) => {
  const timersBefore = activeTimers()
  const running = answerWith('running')
  const upstream = scriptedUpstream({ 'c-1': [running], 'c-2': [running] })
  const watcher = new ComputationWatcher({ intervalMs: INTERVAL_MS, fetch: upstream.fetch, isTerminal })
  const waits = [watcher.wait('c-1', 5_000), watcher.wait('c-1', 5_000), watcher.wait('c-2', 5_000)]
  await sleep(INTERVAL_MS / 2)
  t.equal(watcher.watching, 2)
  t.equal(watcher.waiters, 3)
  watcher.close()
  t.same(await Promise.all(waits), Array.from({ length: 3 }, () => ({ kind: 'closed', latest: running })))
  t.equal(watcher.watching, 0)
  t.equal(watcher.waiters, 0)
  t.equal(activeTimers(), timersBefore, 'no timer left behind')
  const polls = upstream.polls.length
  t.same(await watcher.wait('c-1', 5_000), { kind: 'closed', latest: undefined })
  await sleep(INTERVAL_MS * 2)
  t.equal(upstream.polls.length, polls, 'nothing polled after close')
})

t.test('two computations are polled independently', async (t) => {
  const upstream = scriptedUpstream({
    short: [answerWith('running'), answerWith('completed')],
    long: [answerWith('running'), answerWith('running'), answerWith('running'), answerWith('completed')]
  })
  const watcher = new ComputationWatcher({ intervalMs: INTERVAL_MS, fetch: upstream.fetch, isTerminal })
  const long = watcher.wait('long', 5_000)
  const short: WaitOutcome = await watcher.wait('short', 5_000)
  t.equal(short.kind, 'terminal')
  t.equal(watcher.watching, 1, 'the long one is still watched')
  t.equal((await long).kind, 'terminal')
  t.equal(upstream.pollsOf('short'), 2)
  t.equal(upstream.pollsOf('long'), 4)
})

t.test('a poll that lands after its last waiter left is ignored, and a new waiter starts afresh', async (t) => {
  const pending: Array<{ resolve: (answer: BufferedAnswer) => void, reject: (error: unknown) => void }> = []
  const watcher = new ComputationWatcher({
    intervalMs: INTERVAL_MS,
    fetch: async () => await new Promise((resolve, reject) => { pending.push({ resolve, reject }) }),
    isTerminal
  })
  t.equal((await watcher.wait('c-1', 5)).kind, 'timeout')
  const next = watcher.wait('c-1', 5_000)
  t.equal(pending.length, 2, 'the new waiter polls at once')
  pending[0]?.resolve(answerWith('completed'))
  await sleep(INTERVAL_MS / 2)
  t.equal(watcher.waiters, 1, 'the old loop’s answer did not reach the new waiter')
  pending[1]?.resolve(answerWith('completed'))
  t.equal((await next).kind, 'terminal')

  t.equal((await watcher.wait('c-2', 5)).kind, 'timeout')
  pending[2]?.reject(new Error('late failure'))
  await sleep(INTERVAL_MS * 2)
  t.equal(pending.length, 3, 'a late failure schedules nothing')
  t.equal(watcher.watching, 0)
})

t.test('an interval or a timeout Node timers cannot keep is refused', async (t) => {
  const fetch = async (): Promise<BufferedAnswer> => answerWith('running')
  for (const intervalMs of [0, -1, Number.NaN, 2 ** 31]) {
    t.throws(() => new ComputationWatcher({ intervalMs, fetch, isTerminal }), RangeError, `intervalMs ${intervalMs}`)
  }
  const watcher = new ComputationWatcher({ intervalMs: INTERVAL_MS, fetch, isTerminal })
  for (const timeoutMs of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
    await t.rejects(watcher.wait('c-1', timeoutMs), RangeError, `timeoutMs ${timeoutMs}`)
  }
  t.equal(watcher.watching, 0)
})
