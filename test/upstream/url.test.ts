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
