// Upstream URLs are built from templates and validated values, and never leave the prefix.
import t from 'tap'
import { upstreamPath } from '../../src/upstream/url.js'

const target = { origin: 'https://codeocean.example.com', basePath: '' }

t.test('parameters are encoded into their segments and queries are form-encoded', async (t) => {
  t.equal(upstreamPath(target, '/api/v1/computations/:computation_id/results/urls', { computation_id: 'abc' }, { path: 'dir/a b&c.txt' }),
    '/api/v1/computations/abc/results/urls?path=dir%2Fa+b%26c.txt')
  t.equal(upstreamPath(target, '/api/v1/computations/:computation_id/data_assets/', { computation_id: 'abc' }),
    '/api/v1/computations/abc/data_assets/', 'a trailing slash is kept')
  t.equal(upstreamPath({ ...target, basePath: '/co' }, '/api/v1/computations', {}), '/co/api/v1/computations', 'a base path is prefixed')
})

t.test('anything that could escape is refused', async (t) => {
  t.throws(() => upstreamPath(target, '/admin/:id', { id: 'x' }), /not under \/api\/v1\//)
  t.throws(() => upstreamPath(target, '/api/v1/computations/:computation_id', { computation_id: '..' }), /dot segment/)
  t.throws(() => upstreamPath(target, '/api/v1/computations/:computation_id', {}), /missing/)
  t.equal(upstreamPath(target, '/api/v1/computations/:computation_id', { computation_id: '../x' }), '/api/v1/computations/..%2Fx', 'slashes are encoded')
  t.throws(() => upstreamPath(target, '/api/v1/../admin', {}), /normalised/)
})

t.test('a template is checked once per target, before its first path is built', async (t) => {
  const odd = { origin: 'https://codeocean.example.com', basePath: '/co' }
  t.throws(() => upstreamPath(odd, '/api/v1/./computations/:computation_id', { computation_id: 'abc' }), /normalised/, 'a dot in the template')
  t.throws(() => upstreamPath(odd, '/api/v1/computations/:computation_id', {}), /missing/, 'a good template still wants its values')
  t.equal(upstreamPath(odd, '/api/v1/computations/:computation_id', { computation_id: 'abc' }), '/co/api/v1/computations/abc')
  t.throws(() => upstreamPath({ origin: 'https://codeocean.example.com', basePath: '/a b' }, '/api/v1/computations', {}), /normalised/, 'a base path the parser would encode')
  odd.basePath = '/c/../d'
  t.throws(() => upstreamPath(odd, '/api/v1/computations/:computation_id', { computation_id: 'abc' }), /normalised/, 'a target changed since is checked again')
})

t.test('whatever a value holds, the parser keeps the built path as it is', async (t) => {
  // What each call no longer asks the URL parser: encoded values cannot move the path.
  const characters = ['.', '..', '%', '%2e', '%2E', '/', '\\', '?', '#', ' ', '\t', '\u0000', 'é', '😀', "'", '(', '*', '~', '!', 'a', '+', '&', '=', ';', '@', ':']
  let checked = 0
  for (const first of characters) {
    for (const second of characters) {
      for (const value of [first + second, first + 'x' + second, `${first}${second}${first}`]) {
        if (value === '.' || value === '..') continue
        const path = upstreamPath(target, '/api/v1/computations/:computation_id/results/urls', { computation_id: value }, { path: value })
        const url = new URL(path, target.origin)
        if (url.origin !== target.origin || `${url.pathname}${url.search}` !== path || !url.pathname.startsWith('/api/v1/computations/')) t.fail(`${JSON.stringify(value)} became ${path}`)
        if (new URLSearchParams(url.search).get('path') !== value) t.fail(`${JSON.stringify(value)} was not kept in the query`)
        checked++
      }
    }
  }
  t.equal(checked, characters.length ** 2 * 3 - 1)
  t.throws(() => upstreamPath(target, '/api/v1/computations/:computation_id', { computation_id: '.' }), /dot segment/)
})
