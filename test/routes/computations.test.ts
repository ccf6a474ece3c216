// Every mirrored computations endpoint, end to end through the real app to the simulator:
// the caller gets exactly what Code Ocean sent, and Code Ocean gets exactly what the caller
// asked for, with the proxy's credential and never the caller's.
import t, { type Test } from 'tap'
import type { Simulator } from '../../src/simulator/index.js'
import { buildTestApp } from '../helpers/app.js'
import { secretForms, TEST_TOKEN } from '../helpers/secrets.js'
import { startTestSimulator } from '../helpers/simulator.js'

const CALLER_AUTHORIZATION = 'Basic Y2FsbGVyLWtleTo='
const DATA_ASSET = '44ec16c3-cb5a-45f5-93d1-cba8be800c24'
const [, INJECTED_AUTHORIZATION] = secretForms(TEST_TOKEN)

async function setup (t: Test) {
  const simulator = await startTestSimulator(t, { extraFields: { future_field: { nested: [1, 'two'] } } })
  const proxy = await buildTestApp(t, simulator.url)
  return { simulator, proxy }
}

/** The one request the simulator saw, after asserting there was exactly one. */
function onlyUpstreamRequest (t: Test, simulator: Simulator) {
  t.equal(simulator.requests.length, 1, 'exactly one request reached Code Ocean')
  const seen = simulator.requests[0]
  if (seen === undefined) throw new Error('no upstream request')
  t.equal(seen.headers.authorization, INJECTED_AUTHORIZATION, 'the proxy\'s credential was injected')
  t.notOk(JSON.stringify(seen.headers).includes(CALLER_AUTHORIZATION), 'the caller\'s Authorization was not forwarded')
  return seen
}

t.test('runCapsule forwards the validated body with nulls kept and returns the computation unchanged', async (t) => {
  const { simulator, proxy } = await setup(t)
  const body = {
    capsule_id: simulator.capsules.analysis,
    pipeline_id: null,
    version: null,
    resume_run_id: null,
    nextflow_profile: null,
    data_assets: [{ id: DATA_ASSET, mount: null }],
    parameters: ['75', '', 'HS25'],
    named_parameters: null,
    processes: null
  }
  const response = await proxy.inject({
    method: 'POST',
    url: '/api/v1/computations',
    headers: { authorization: CALLER_AUTHORIZATION, cookie: 'session=abc' },
    payload: body
  })
  const seen = onlyUpstreamRequest(t, simulator)
  t.equal(seen.method, 'POST')
  t.equal(seen.url, '/api/v1/computations')
  t.same(JSON.parse(seen.bodyText), body, 'the body arrived as sent, nulls included')
  t.equal(seen.headers['content-type'], 'application/json')
  t.notOk(seen.headers.cookie, 'cookies are not forwarded')
  t.equal(response.statusCode, 200)
  t.equal(response.body, seen.response?.bodyText, 'the caller got the simulator\'s bytes')
  const computation = response.json()
  t.equal(computation.state, 'initializing')
  t.same(computation.future_field, { nested: [1, 'two'] }, 'an unknown field passed through')
})

t.test('runCapsule runs a pipeline with processes', async (t) => {
  const { simulator, proxy } = await setup(t)
  const body = {
    pipeline_id: simulator.pipelines.main,
    nextflow_profile: 'standard',
    processes: [{ name: 'capsule_align_reads_1', named_parameters: [{ param_name: 'min_quality', value: '30' }] }]
  }
  const response = await proxy.inject({ method: 'POST', url: '/api/v1/computations', payload: body })
  const seen = onlyUpstreamRequest(t, simulator)
  t.same(seen.body, body)
  t.equal(response.statusCode, 200)
  t.equal(response.body, seen.response?.bodyText)
})

t.test('getComputation returns the computation as Code Ocean sends it', async (t) => {
  const { simulator, proxy } = await setup(t)
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  const response = await proxy.inject({ method: 'GET', url: `/api/v1/computations/${computation.id}`, headers: { authorization: CALLER_AUTHORIZATION } })
  const seen = onlyUpstreamRequest(t, simulator)
  t.equal(seen.method, 'GET')
  t.equal(seen.url, `/api/v1/computations/${computation.id}`)
  t.equal(seen.bodyText, '', 'no body was sent')
  t.equal(response.statusCode, 200)
  t.equal(response.body, seen.response?.bodyText)
  t.equal(response.headers['content-type'], seen.response?.headers['content-type'])
  t.equal(response.json().id, computation.id)
})

t.test('renameComputation sends the name as a form-encoded query parameter', async (t) => {
  const { simulator, proxy } = await setup(t)
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  const response = await proxy.inject({ method: 'PATCH', url: `/api/v1/computations/${computation.id}?name=new+name+%26+more` })
  const seen = onlyUpstreamRequest(t, simulator)
  t.equal(seen.method, 'PATCH')
  t.equal(seen.url, `/api/v1/computations/${computation.id}?name=new+name+%26+more`)
  t.equal(seen.query.name, 'new name & more')
  t.equal(response.statusCode, 204)
  t.equal(response.body, '')
  t.equal(simulator.getComputation(computation.id)?.name, 'new name & more')
})

t.test('deleteComputation stops and deletes', async (t) => {
  const { simulator, proxy } = await setup(t)
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  const response = await proxy.inject({ method: 'DELETE', url: `/api/v1/computations/${computation.id}` })
  const seen = onlyUpstreamRequest(t, simulator)
  t.equal(seen.method, 'DELETE')
  t.equal(seen.url, `/api/v1/computations/${computation.id}`)
  t.equal(response.statusCode, 204)
  t.equal(simulator.getComputation(computation.id), undefined)
})

t.test('listComputationResults lists one folder', async (t) => {
  const { simulator, proxy } = await setup(t)
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis, state: 'completed' })
  const response = await proxy.inject({ method: 'POST', url: `/api/v1/computations/${computation.id}/results`, payload: { path: '' } })
  const seen = onlyUpstreamRequest(t, simulator)
  t.equal(seen.url, `/api/v1/computations/${computation.id}/results`)
  t.equal(seen.bodyText, '{"path":""}')
  t.equal(response.statusCode, 200)
  t.equal(response.body, seen.response?.bodyText)
  t.ok(response.json().items.length > 0, 'the results root has items')
})

t.test('getResultFileUrls forwards the path and returns the signed URLs unchanged', async (t) => {
  const { simulator, proxy } = await setup(t)
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis, state: 'completed' })
  const listing = await proxy.inject({ method: 'POST', url: `/api/v1/computations/${computation.id}/results`, payload: { path: '' } })
  const file = (listing.json().items as Array<{ path: string, type: string }>).find((item) => item.type === 'file')
  if (file === undefined) throw new Error('the simulator lists no file')
  simulator.clearRequests()
  const response = await proxy.inject({ method: 'GET', url: `/api/v1/computations/${computation.id}/results/urls?path=${encodeURIComponent(file.path)}` })
  const seen = onlyUpstreamRequest(t, simulator)
  t.equal(seen.query.path, file.path)
  t.equal(response.statusCode, 200)
  t.equal(response.body, seen.response?.bodyText)
  const urls = response.json()
  t.match(urls, { download_url: String, view_url: String })
  const download = await fetch(urls.download_url, { signal: AbortSignal.timeout(5000) })
  t.equal(download.status, 200, 'the signed URL downloads directly from storage')
})

t.test('getResultFileDownloadUrl (deprecated) is still served', async (t) => {
  const { simulator, proxy } = await setup(t)
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis, state: 'completed' })
  const response = await proxy.inject({ method: 'GET', url: `/api/v1/computations/${computation.id}/results/download_url?path=output.csv` })
  const seen = onlyUpstreamRequest(t, simulator)
  t.equal(seen.path, `/api/v1/computations/${computation.id}/results/download_url`)
  t.equal(seen.query.path, 'output.csv')
  t.equal(response.statusCode, 200)
  t.equal(seen.response?.status, 200)
  t.type(response.json().url, 'string')
  t.equal(response.body, seen.response?.bodyText)
})

t.test('attachComputationDataAssets forwards an array body', async (t) => {
  const { simulator, proxy } = await setup(t)
  const workstation = simulator.addComputation({ capsule_id: simulator.capsules.workstation, cloud_workstation: true, state: 'running' })
  const body = [{ id: DATA_ASSET, mount: 'reference' }]
  const response = await proxy.inject({ method: 'POST', url: `/api/v1/computations/${workstation.id}/data_assets`, payload: body })
  const seen = onlyUpstreamRequest(t, simulator)
  t.equal(seen.url, `/api/v1/computations/${workstation.id}/data_assets`)
  t.same(seen.body, body)
  t.equal(response.statusCode, 200)
  t.equal(response.body, seen.response?.bodyText)
  t.equal(response.json()[0].id, DATA_ASSET)
})

t.test('detachComputationDataAssets keeps the trailing slash and the array of ids', async (t) => {
  const { simulator, proxy } = await setup(t)
  const workstation = simulator.addComputation({ capsule_id: simulator.capsules.workstation, cloud_workstation: true, state: 'running' })
  const response = await proxy.inject({
    method: 'DELETE',
    url: `/api/v1/computations/${workstation.id}/data_assets/`,
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify([DATA_ASSET])
  })
  const seen = onlyUpstreamRequest(t, simulator)
  t.equal(seen.method, 'DELETE')
  t.equal(seen.url, `/api/v1/computations/${workstation.id}/data_assets/`)
  t.equal(seen.bodyText, JSON.stringify([DATA_ASSET]))
  t.equal(response.statusCode, 204)
  t.equal(seen.response?.status, 204)
})
