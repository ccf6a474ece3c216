// What the official Python SDK really sends (see the API notes, §4 and §9) works through the proxy.
import t from 'tap'
import { buildTestApp } from './helpers/app.js'
import { startTestSimulator } from './helpers/simulator.js'

const SDK_HEADERS = {
  'content-type': 'application/json',
  'min-server-version': '4.6.0',
  'agent-id': 'analysis-notebook',
  'user-agent': 'python-requests/2.32.3',
  accept: '*/*',
  'accept-encoding': 'gzip, deflate'
}

t.test('GET, PATCH and DELETE with a JSON content type and an empty body are accepted', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url)
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  const headers = { ...SDK_HEADERS, 'content-length': '0' }
  const get = await proxy.inject({ method: 'GET', url: `/api/v1/computations/${computation.id}`, headers })
  const rename = await proxy.inject({ method: 'PATCH', url: `/api/v1/computations/${computation.id}?name=renamed`, headers, payload: '' })
  const remove = await proxy.inject({ method: 'DELETE', url: `/api/v1/computations/${computation.id}`, headers, payload: '' })
  t.same([get.statusCode, rename.statusCode, remove.statusCode], [200, 204, 204])
  t.same(simulator.requests.map((request) => request.method), ['GET', 'PATCH', 'DELETE'])
})

t.test('Min-Server-Version and Accept are forwarded; the client\'s encoding, agent and Agent-Id are not', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url)
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  await proxy.inject({ method: 'GET', url: `/api/v1/computations/${computation.id}`, headers: SDK_HEADERS })
  const seen = simulator.requests[0]?.headers
  t.equal(seen?.['min-server-version'], '4.6.0')
  t.equal(seen?.['agent-id'], 'codeocean-proxy/tester@example.com', 'Agent-Id names the proven caller, not what the client claimed')
  t.equal(seen?.accept, '*/*')
  t.equal(seen?.['accept-encoding'], 'identity', 'Code Ocean is asked for plain bodies, which pass through as they are')
  t.match(seen?.['user-agent'], /^codeocean-proxy\//)
})

t.test('a Min-Server-Version that Code Ocean is too old for gets Code Ocean\'s own 400', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url)
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  const response = await proxy.inject({
    method: 'GET', url: `/api/v1/computations/${computation.id}`, headers: { ...SDK_HEADERS, 'min-server-version': '9.0.0' }
  })
  t.equal(response.statusCode, 400)
  t.equal(response.body, simulator.requests[0]?.response?.bodyText)
})

t.test('the detach route is reached with and without its trailing slash, and always sent with it', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url)
  const workstation = simulator.addComputation({ capsule_id: simulator.capsules.workstation, cloud_workstation: true, state: 'running' })
  const payload = JSON.stringify(['44ec16c3-cb5a-45f5-93d1-cba8be800c24'])
  for (const url of [`/api/v1/computations/${workstation.id}/data_assets/`, `/api/v1/computations/${workstation.id}/data_assets`]) {
    const response = await proxy.inject({ method: 'DELETE', url, headers: SDK_HEADERS, payload })
    t.equal(response.statusCode, 204, url)
  }
  t.same(simulator.requests.map((request) => request.url), [
    `/api/v1/computations/${workstation.id}/data_assets/`,
    `/api/v1/computations/${workstation.id}/data_assets/`
  ])
})

t.test('a newer SDK\'s unknown fields sent as null are dropped, at every depth', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url)
  const response = await proxy.inject({
    method: 'POST',
    url: '/api/v1/computations',
    headers: SDK_HEADERS,
    payload: {
      capsule_id: simulator.capsules.analysis,
      some_future_option: null,
      data_assets: [{ id: '44ec16c3-cb5a-45f5-93d1-cba8be800c24', mount: null, future_flag: null }],
      named_parameters: [{ param_name: 'threshold', value: '0.5', future_hint: null }]
    }
  })
  t.equal(response.statusCode, 200)
  t.same(simulator.requests[0]?.body, {
    capsule_id: simulator.capsules.analysis,
    data_assets: [{ id: '44ec16c3-cb5a-45f5-93d1-cba8be800c24', mount: null }],
    named_parameters: [{ param_name: 'threshold', value: '0.5' }]
  })
})

t.test('unknown null fields named like Object members are dropped too', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url)
  const response = await proxy.inject({
    method: 'POST', url: '/api/v1/computations', headers: SDK_HEADERS, payload: `{"capsule_id":"${simulator.capsules.analysis}","constructor":null,"toString":null}`
  })
  t.equal(response.statusCode, 200)
  t.same(simulator.requests[0]?.body, { capsule_id: simulator.capsules.analysis })
})

t.test('+ in a query string is a space, and is sent on the same way', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url)
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis, state: 'completed' })
  await proxy.inject({ method: 'GET', url: `/api/v1/computations/${computation.id}/results/urls?path=dir%2Fa+b.txt`, headers: SDK_HEADERS })
  t.equal(simulator.requests[0]?.query.path, 'dir/a b.txt')
  t.equal(simulator.requests[0]?.url, `/api/v1/computations/${computation.id}/results/urls?path=dir%2Fa+b.txt`)
})

t.test('a domain configured with a trailing slash (the SDK then sends //api/v1/) still routes', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, `${simulator.url}/`)
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  const response = await proxy.inject({ method: 'GET', url: `//api/v1/computations/${computation.id}`, headers: SDK_HEADERS })
  t.equal(response.statusCode, 200)
  t.equal(simulator.requests[0]?.url, `/api/v1/computations/${computation.id}`)
})
