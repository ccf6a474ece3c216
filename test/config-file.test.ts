// Reading the files the configuration names: every problem is collected, a bug is not.
import t from 'tap'
import { collectingProblems } from '../src/config-file.js'
import { ConfigError } from '../src/errors.js'

t.test('problems are collected and reading goes on; a failure that is not one propagates as the bug it is', async (t) => {
  const problems: string[] = []
  t.equal(collectingProblems(problems, () => { throw new ConfigError(['A is wrong', 'B is wrong']) }), undefined)
  t.equal(collectingProblems(problems, () => 'read'), 'read')
  t.same(problems, ['A is wrong', 'B is wrong'])
  const bug = new TypeError('a bug')
  t.throws(() => collectingProblems(problems, () => { throw bug }), bug)
})
