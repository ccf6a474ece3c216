// Which polls share a call: the same path and the same Min-Server-Version, of a shape Code Ocean
// accepts, among a bounded number of versions.
import t from 'tap'
import { MAX_VERSIONS, PollKeys } from '../../src/upstream/poll-keys.js'

const PATH = '/api/v1/computations/c1'

t.test('the key is the path, and the version when there is one', async (t) => {
  const keys = new PollKeys()
  t.equal(keys.keyOf({ path: PATH, headers: {} }), PATH)
  t.equal(keys.keyOf({ path: PATH, headers: { 'min-server-version': '4.6.0' } }), `${PATH}\n4.6.0`)
  t.not(keys.keyOf({ path: PATH, headers: { 'min-server-version': '4.6.0' } }), keys.keyOf({ path: PATH, headers: { 'min-server-version': '4.6.1' } }))
  t.not(keys.keyOf({ path: PATH, headers: { 'min-server-version': '4.6.0' } }), keys.keyOf({ path: '/api/v1/computations/c2', headers: { 'min-server-version': '4.6.0' } }))
})

t.test('a version Code Ocean would not accept as one is not shared', async (t) => {
  const keys = new PollKeys()
  for (const version of ['4.6', '4.6.0.1', ' 4.6.0', '4.6.0\n', 'v4.6.0', '1234567.0.0', '']) {
    t.equal(keys.keyOf({ path: PATH, headers: { 'min-server-version': version } }), undefined, JSON.stringify(version))
  }
  t.same(keys.keysOf(PATH), [PATH], 'and none of them is remembered')
})

t.test('at most MAX_VERSIONS versions are shared; a change forgets the answers of each', async (t) => {
  const keys = new PollKeys()
  for (let minor = 0; minor < MAX_VERSIONS; minor++) t.ok(keys.keyOf({ path: PATH, headers: { 'min-server-version': `4.${minor}.0` } }))
  t.equal(keys.keyOf({ path: PATH, headers: { 'min-server-version': `4.${MAX_VERSIONS}.0` } }), undefined, 'a new version past the bound is answered unshared')
  t.equal(keys.keyOf({ path: PATH, headers: { 'min-server-version': '4.0.0' } }), `${PATH}\n4.0.0`, 'a known one is still shared')
  const all = keys.keysOf(PATH)
  t.equal(all.length, MAX_VERSIONS + 1)
  t.equal(all[0], PATH)
  t.ok(all.includes(`${PATH}\n4.15.0`))
})
