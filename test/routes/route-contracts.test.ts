// Fail-closed by construction: a route without a contract never serves. The app refuses to be
// ready when a route under /api/v1 has no contract, or another route has neither a contract nor
// an operational marking; a contract must name its schema's operation, and a call that changes
// something can be neither retried nor shared.
import t from 'tap'
import { mountedDataAssets, routeContract } from '../../src/contract/route-contract.js'
import { contractProblem } from '../../src/plugins/route-contracts.js'
import { buildTestApp } from '../helpers/app.js'
import { startTestSimulator } from '../helpers/simulator.js'

const answered = async (): Promise<string> => 'forwarded unchecked'

t.test('a route under /api/v1 without a contract stops the app before it serves anything', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url)
  proxy.app.post('/api/v1/computations/:computation_id/stop', { schema: { operationId: 'stopComputation' } }, answered)
  await t.rejects(async () => await proxy.app.ready(), /POST \/api\/v1\/computations\/:computation_id\/stop has no route contract: every route under \/api\/v1 needs one/)
  t.equal(simulator.requests.length, 0)
})

t.test('an operational marking does not excuse a route under /api/v1', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url)
  proxy.app.get('/api/v1/status', { config: { operational: true } }, answered)
  await t.rejects(async () => await proxy.app.ready(), /GET \/api\/v1\/status has no route contract/)
})

t.test('any other route needs a contract or an operational marking', async (t) => {
  const simulator = await startTestSimulator(t)
  const unmarked = await buildTestApp(t, simulator.url)
  unmarked.app.get('/debug/state', answered)
  await t.rejects(async () => await unmarked.app.ready(), /GET \/debug\/state has no route contract and is not marked operational/)

  const marked = await buildTestApp(t, simulator.url)
  marked.app.get('/debug/state', { config: { operational: true } }, answered)
  await marked.app.ready()
  const response = await marked.inject({ method: 'GET', url: '/debug/state' })
  t.equal(response.body, 'forwarded unchecked', 'an operational route serves')
  t.equal(response.headers['audit-id'], undefined, 'and is not audited')
})

t.test('every problem is named at once, and the served routes all pass', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url)
  proxy.app.get('/api/v1/a', answered)
  proxy.app.get('/b', answered)
  await t.rejects(async () => await proxy.app.ready(), /GET \/api\/v1\/a has no route contract.*; GET \/b has no route contract/)

  const served = await buildTestApp(t, simulator.url)
  await t.resolves(async () => { await served.app.ready() }, 'the app as built has a contract or a marking on every route')
})

t.test('a contract names its schema\'s operation, and is not also operational', async (t) => {
  const contract = routeContract({ operation: 'getComputation', action: 'read', resource: 'path: computation_id' })
  const route = { method: 'GET', url: '/api/v1/computations/:computation_id' } as const
  t.equal(contractProblem({ ...route, config: { contract }, schema: { operationId: 'getComputation' } }, '/api/v1'), undefined)
  t.equal(contractProblem({ ...route, config: { contract }, schema: { operationId: 'renameComputation' } }, '/api/v1'),
    'GET /api/v1/computations/:computation_id: its contract names operation getComputation, its schema renameComputation')
  t.equal(contractProblem({ ...route, config: { contract }, schema: {} }, '/api/v1'),
    'GET /api/v1/computations/:computation_id: its contract names operation getComputation, its schema undefined')
  t.equal(contractProblem({ ...route, config: { contract, operational: true }, schema: { operationId: 'getComputation' } }, '/api/v1'),
    'GET /api/v1/computations/:computation_id has a contract and is marked operational: it is one or the other')
  t.equal(contractProblem({ method: 'GET', url: '/api/v1x' }, '/api/v1'), 'GET /api/v1x has no route contract and is not marked operational', 'only /api/v1/ itself is the API')
})

t.test('a call that changes something is neither retried nor shared; defaults are a plain read', async (t) => {
  t.throws(() => routeContract({ operation: 'deleteComputation', action: 'delete', resource: 'path: computation_id', mutates: true, retries: true }),
    new TypeError('deleteComputation: a call that changes something is neither retried nor shared'))
  t.throws(() => routeContract({ operation: 'deleteComputation', action: 'delete', resource: 'path: computation_id', mutates: true, coalesces: true }), TypeError)
  const read = routeContract({ operation: 'getComputation', action: 'read', resource: 'path: computation_id' })
  t.same(read, { operation: 'getComputation', action: 'read', resource: 'path: computation_id', mutates: false, retries: false, coalesces: false, sensitive: [] })
  t.ok(Object.isFrozen(read))
})

t.test('the data assets a request mounts are read where its contract says, and only ids that are strings', async (t) => {
  const run = routeContract({ operation: 'runCapsule', action: 'run', resource: 'body: capsule_id | pipeline_id', mutates: true, mounts: 'body.data_assets' })
  const attach = routeContract({ operation: 'attachComputationDataAssets', action: 'attach', resource: 'path: computation_id', mutates: true, mounts: 'body' })
  const detach = routeContract({ operation: 'detachComputationDataAssets', action: 'attach', resource: 'path: computation_id', mutates: true })
  t.same(mountedDataAssets(run, { capsule_id: 'c', data_assets: [{ id: 'a', mount: 'm' }, { id: 'b', mount: 'n' }] }), ['a', 'b'])
  t.same(mountedDataAssets(run, { capsule_id: 'c' }), [], 'none named')
  t.same(mountedDataAssets(run, null), [])
  t.same(mountedDataAssets(attach, [{ id: 'a', mount: 'm' }, null, { id: 7 }, 'b']), ['a'], 'what is not an object with a string id is no data asset')
  t.same(mountedDataAssets(detach, ['a']), [], 'a detach mounts nothing')
})
