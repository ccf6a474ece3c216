// Which polls share a call: the same path and the same Min-Server-Version, of a shape Code Ocean
// accepts; a versioned poll's key is a variant of the plain one's, and a change forgets them all.
import t from 'tap'
import { Coalescer } from '../../src/upstream/coalesce.js'
import { pollKeyOf } from '../../src/upstream/poll-keys.js'

const PATH = '/api/v1/computations/c1'

t.test('the key is the path, and the version when there is one', async (t) => {
  t.equal(pollKeyOf({ path: PATH, headers: {} }), PATH)
  t.equal(pollKeyOf({ path: PATH, headers: { 'min-server-version': '4.6.0' } }), `${PATH}\n4.6.0`)
  t.not(pollKeyOf({ path: PATH, headers: { 'min-server-version': '4.6.0' } }), pollKeyOf({ path: PATH, headers: { 'min-server-version': '4.6.1' } }))
  t.not(pollKeyOf({ path: PATH, headers: { 'min-server-version': '4.6.0' } }), pollKeyOf({ path: '/api/v1/computations/c2', headers: { 'min-server-version': '4.6.0' } }))
})

t.test('a version Code Ocean would not accept as one is not shared', async (t) => {
  for (const version of ['4.6', '4.6.0.1', ' 4.6.0', '4.6.0\n', 'v4.6.0', '1234567.0.0', '']) {
    t.equal(pollKeyOf({ path: PATH, headers: { 'min-server-version': version } }), undefined, JSON.stringify(version))
  }
})

t.test('invalidating a path forgets its answer and every version\'s, and nothing else', async (t) => {
  const polls = new Coalescer({ terminalCacheMs: 60_000, isTerminal: () => true })
  const answer = { status: 200, headers: {}, body: Buffer.from('{}') }
  const keys = [PATH, `${PATH}\n4.6.0`, `${PATH}\n4.7.0`, `${PATH}0`, `${PATH}0\n4.6.0`]
  for (const key of keys) await polls.run(key, async () => answer)
  t.equal(polls.cached, 5)
  polls.invalidate(PATH)
  t.equal(polls.cached, 2, 'the path and its two versions are forgotten')
  const fetched: string[] = []
  for (const key of keys) await polls.run(key, async () => { fetched.push(key); return answer })
  t.same(fetched, [PATH, `${PATH}\n4.6.0`, `${PATH}\n4.7.0`], 'another path that begins the same way is kept')
})
