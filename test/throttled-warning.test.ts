// A recurring failure's warning: logged at once, then at most once per interval, each line
// counting the occurrences it stands for.
import t from 'tap'
import { ThrottledWarning } from '../src/throttled-warning.js'
import { createLogSink } from './helpers/log-sink.js'

t.test('the first occurrence is logged; those within the interval only counted, in the next line', async (t) => {
  const log = createLogSink()
  let now = 1_000
  const warning = new ThrottledWarning({ log: log.logger, message: 'the service is failing', intervalMs: 60_000, now: () => now })
  warning.occurred(new Error('first'))
  now += 59_999
  warning.occurred(new Error('second'))
  warning.occurred(new Error('third'))
  t.match(log.lines(), [{ level: 40, msg: 'the service is failing', errMessage: 'first', occurrences: 1 }])
  t.equal(log.lines().length, 1, 'nothing more within the interval')
  now += 1
  warning.occurred(new Error('fourth'))
  t.equal(log.lines().length, 2)
  t.match(log.lines()[1], { msg: 'the service is failing', errMessage: 'fourth', occurrences: 3 })
})

t.test('the clock is the wall clock unless given', async (t) => {
  const log = createLogSink()
  const warning = new ThrottledWarning({ log: log.logger, message: 'failing', intervalMs: 60_000 })
  warning.occurred(new Error('once'))
  warning.occurred(new Error('twice'))
  t.equal(log.lines().length, 1)
})
