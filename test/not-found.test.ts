// 404s that help: a path the proxy does not have says what it serves and where the wait endpoint
// really is; a call to a part of Code Ocean's API the proxy does not mirror (capsules themselves,
// data assets, …) says so. Both are JSON errors, audited, and never forwarded.
import t from 'tap'
import { createServiceKey } from '../src/identity/service-keys.js'
import { buildTestApp } from './helpers/app.js'
import { storeCalls } from './helpers/prometheus.js'
import { startTestSimulator } from './helpers/simulator.js'

const ID = '5f5c3c4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f'
/** What the official SDK sends with every call (see the API notes, §4.1). */
const SDK_HEADERS = { 'content-type': 'application/json', 'min-server-version': '4.6.0' }

t.test('an unknown path is told that the Computations API is served, and where the wait endpoint is', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url)
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  const guesses = [`/api/v1/computations/${computation.id}/wait`, `/api/v2/computations/${computation.id}`, '/api/v1/nowhere', '/wait']
  let waitPath = ''
  for (const url of guesses) {
    const response = await proxy.inject({ method: 'GET', url })
    t.equal(response.statusCode, 404, url)
    const body = response.json()
    t.match(body, { statusCode: 404, code: 'PROXY_ROUTE_NOT_FOUND', error: 'Not Found' }, url)
    t.match(body.message, `No such endpoint: GET ${url}.`, 'it names the request')
    t.match(body.message, /serves Code Ocean's Computations API only, under \/api\/v1/, 'and what is served')
    waitPath = /call GET (\/\S*\{computation_id\}\S*) /.exec(String(body.message))?.[1] ?? ''
  }
  t.equal(simulator.requests.length, 0, 'nothing was forwarded')
  t.same(proxy.log.audits().map((audit) => [audit.status, audit.errorCode]), guesses.map(() => [404, 'PROXY_ROUTE_NOT_FOUND']), 'each was audited')

  // The path the message names is the wait endpoint: the computation is answered once it has finished.
  const wait = await proxy.inject({ method: 'GET', url: `${waitPath.replace('{computation_id}', computation.id)}?timeout=30` })
  t.equal(wait.statusCode, 200, `${waitPath} waits for the computation`)
  t.match(wait.json(), { id: computation.id, state: 'completed' })
})

/** Calls of the official SDK that are outside the Computations API, as it sends them. */
const SDK_CALLS_NOT_SERVED = [
  { sdk: 'capsules.get_capsule', method: 'GET', url: `/api/v1/capsules/${ID}`, resource: 'capsules' },
  { sdk: 'capsules.get_capsule_app_panel', method: 'GET', url: `/api/v1/capsules/${ID}/app_panel?version=2`, resource: 'capsules' },
  { sdk: 'capsules.search_capsules', method: 'POST', url: '/api/v1/capsules/search', payload: '{"query":"qc","limit":10}', resource: 'capsules' },
  { sdk: 'capsules.detach_data_assets', method: 'DELETE', url: `/api/v1/capsules/${ID}/data_assets/`, payload: `["${ID}"]`, resource: 'capsules' },
  { sdk: 'pipelines.get_pipeline', method: 'GET', url: `/api/v1/pipelines/${ID}`, resource: 'pipelines' },
  { sdk: 'data_assets.get_data_asset', method: 'GET', url: `/api/v1/data_assets/${ID}`, resource: 'data assets' },
  { sdk: 'data_assets.create_data_asset', method: 'POST', url: '/api/v1/data_assets', payload: `{"name":"r","tags":[],"mount":"r","source":{"computation":{"id":"${ID}"}}}`, resource: 'data assets' },
  { sdk: 'data_assets.update_metadata', method: 'PUT', url: `/api/v1/data_assets/${ID}`, payload: '{"name":"r","description":"","tags":[],"mount":"r"}', resource: 'data assets' },
  { sdk: 'data_assets.list_data_asset_files', method: 'POST', url: `/api/v1/data_assets/${ID}/files`, payload: '{"path":""}', resource: 'data assets' },
  { sdk: 'custom_metadata.get_custom_metadata', method: 'GET', url: '/api/v1/custom_metadata', resource: 'custom metadata' },
  // A domain configured with a trailing slash: the SDK then sends `//api/v1/…`.
  { sdk: 'data_assets.get_data_asset (domain with a trailing slash)', method: 'GET', url: `//api/v1/data_assets/${ID}`, resource: 'data assets' }
] as const

t.test('SDK calls outside the Computations API get a 404 saying the proxy does not serve them', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url)
  for (const call of SDK_CALLS_NOT_SERVED) {
    const response = await proxy.inject({
      method: call.method,
      url: call.url,
      headers: SDK_HEADERS,
      ...('payload' in call ? { payload: call.payload } : {})
    })
    t.equal(response.statusCode, 404, call.sdk)
    t.match(response.headers['content-type'], /^application\/json/)
    const body = response.json()
    t.match(body, { statusCode: 404, code: 'PROXY_NOT_MIRRORED', error: 'Not Found' }, call.sdk)
    t.match(body.message, `${call.method} ${call.url.replace(/\?.*$/, '')} is part of Code Ocean's API for ${call.resource}, which this proxy does not serve`)
    t.match(body.message, /Computations API only/)
  }
  t.equal(simulator.requests.length, 0, 'nothing was forwarded')
  t.same(proxy.log.audits().map((audit) => [audit.method, audit.status, audit.errorCode]),
    SDK_CALLS_NOT_SERVED.map((call) => [call.method, 404, 'PROXY_NOT_MIRRORED']), 'each was audited')
})

t.test('another method on a mirrored capsule or pipeline path is no such endpoint, not an unmirrored API', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url)
  for (const url of [`/api/v1/capsules/${ID}/computations`, `/api/v1/pipelines/${ID}/computations/`]) {
    const response = await proxy.inject({ method: 'DELETE', url })
    t.equal(response.statusCode, 404, url)
    t.equal(response.json().code, 'PROXY_ROUTE_NOT_FOUND')
  }
  t.equal(simulator.requests.length, 0)
})

t.test('an unknown URL costs no identity work: its key is never looked up, and its record has no actor', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url)
  const { key } = await createServiceKey(proxy.store, { subject: 'probe', groups: [] })
  const headers = { authorization: `Bearer ${key}` }
  const lookups = async (): Promise<number> => await storeCalls(proxy.app, 'findServiceKey')

  const unknown = await proxy.inject({ method: 'GET', url: '/api/v2/computations', headers }, {})
  t.equal(unknown.statusCode, 404)
  t.equal(unknown.json().code, 'PROXY_ROUTE_NOT_FOUND')
  t.equal(await lookups(), 0, 'no key lookup for an unknown URL')
  const [record] = proxy.log.audits().filter((audit) => audit.errorCode === 'PROXY_ROUTE_NOT_FOUND')
  t.match(record, { status: 404, actor: null }, 'the probe is audited, without an actor')

  const known = await proxy.inject({ method: 'GET', url: `/api/v1/computations/${ID}`, headers }, {})
  t.equal(known.statusCode, 404, 'a mirrored route does prove its caller (and the computation is not theirs)')
  t.equal(await lookups(), 1, 'one lookup, for the mirrored route')
})
