// Tests of the fake Code Ocean, over loopback HTTP as the proxy will call it.
import { once } from 'node:events'
import { connect } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import t, { type Test } from 'tap'
import {
  SIMULATOR_CAPSULES,
  SIMULATOR_OWNER,
  SIMULATOR_PIPELINES,
  startSimulator,
  type Computation,
  type FileURLs,
  type Simulator,
  type SimulatorOptions
} from '../../src/simulator/index.js'

const TOKEN = 'cop_TEST'
const AUTHORIZATION = 'Basic Y29wX1RFU1Q6' // base64('cop_TEST:'), as requests builds it
const T0 = 1_700_000_000_000

async function start (t: Test, options: Partial<SimulatorOptions> = {}): Promise<Simulator> {
  const sim = await startSimulator({ token: TOKEN, ...options })
  t.teardown(() => sim.close())
  return sim
}

interface FakeClock {
  ms: number
  now: () => number
  advance: (ms: number) => void
}

function fakeClock (startMs = T0): FakeClock {
  const clock: FakeClock = {
    ms: startMs,
    now: () => clock.ms,
    advance (ms: number) {
      clock.ms += ms
    }
  }
  return clock
}

interface CallInit {
  body?: unknown
  rawBody?: string
  headers?: Record<string, string>
  auth?: boolean
}

interface Reply {
  status: number
  headers: Headers
  text: string
  // Tests read arbitrary JSON shapes; the assertions are the type check. undefined when not JSON.
  json: any
}

/** Calls the simulator the way the Python SDK does: Basic token and a JSON content type on every request. */
async function call (sim: Simulator, method: string, path: string, init: CallInit = {}): Promise<Reply> {
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (init.auth !== false) headers['authorization'] = AUTHORIZATION
  Object.assign(headers, init.headers)
  const body = init.rawBody ?? (init.body === undefined ? undefined : JSON.stringify(init.body))
  const response = await fetch(`${sim.url}/api/v1${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body }),
    signal: AbortSignal.timeout(5000)
  })
  const text = await response.text()
  return { status: response.status, headers: response.headers, text, json: parseJson(text) }
}

function parseJson (text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

async function run (sim: Simulator, params: Record<string, unknown> = { capsule_id: SIMULATOR_CAPSULES.analysis }): Promise<Computation> {
  const reply = await call(sim, 'POST', '/computations', { body: params })
  if (reply.status !== 200) throw new Error(`run failed: ${reply.status} ${reply.text}`)
  return reply.json as Computation
}

interface Download {
  status: number
  headers: Headers
  bytes: Buffer
}

async function fetchSigned (url: string, init: RequestInit = {}): Promise<Download> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(5000) })
  return { status: response.status, headers: response.headers, bytes: Buffer.from(await response.arrayBuffer()) }
}

/** A completed run of the analysis capsule, on a simulator with instant timings. */
async function completedRun (t: Test, options: Partial<SimulatorOptions> = {}): Promise<{ sim: Simulator, id: string }> {
  const sim = await start(t, { timings: { initializingMs: 0, runningMs: 0, finalizingMs: 0 }, ...options })
  const computation = await run(sim)
  return { sim, id: computation.id }
}

t.test('seeds lower-case v4 UUIDs for capsules, pipeline and owner', async (t) => {
  const sim = await start(t)
  const v4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
  for (const id of [...Object.values(sim.capsules), ...Object.values(sim.pipelines), SIMULATOR_OWNER.id]) {
    t.match(id, v4)
  }
  t.same(sim.capsules, SIMULATOR_CAPSULES)
  t.same(sim.pipelines, SIMULATOR_PIPELINES)
  t.match(sim.url, /^http:\/\/127\.0\.0\.1:\d+$/)
  t.equal(sim.url, `http://127.0.0.1:${sim.port}`)
})

t.test('requires Basic auth with the token as username and an empty password', async (t) => {
  const sim = await start(t)
  const path = `/capsules/${SIMULATOR_CAPSULES.analysis}/computations`
  const rejected = [
    { auth: false },
    { headers: { authorization: `Bearer ${TOKEN}` } },
    { headers: { authorization: `Basic ${Buffer.from('cop_OTHER:').toString('base64')}` } },
    { headers: { authorization: `Basic ${Buffer.from(`${TOKEN}:secret`).toString('base64')}` } },
    { headers: { authorization: `Basic ${Buffer.from(TOKEN).toString('base64')}` } }
  ]
  for (const init of rejected) {
    const reply = await call(sim, 'GET', path, init)
    t.equal(reply.status, 401)
    t.equal(reply.headers.get('content-type'), 'application/json')
    t.type(reply.json.message, 'string')
  }
  t.equal((await call(sim, 'GET', path)).status, 200)
  t.equal((await call(sim, 'GET', path, { headers: { authorization: 'basic  Y29wX1RFU1Q6' } })).status, 200)
})

t.test('moves a run from initializing through running and finalizing to completed on its clock', async (t) => {
  const clock = fakeClock()
  const sim = await start(t, { now: clock.now, timings: { initializingMs: 1000, runningMs: 3000, finalizingMs: 1000 } })
  const created = await run(sim)
  t.match(created, {
    created: T0 / 1000,
    name: `Run ${String(T0 / 1000).slice(-7)}`,
    owner: SIMULATOR_OWNER.id,
    owner_email: 'proxy-service@example.com',
    run_time: 0,
    state: 'initializing',
    cloud_workstation: false,
    data_assets: [],
    parameters: [],
    has_results: false
  })
  t.match(created.id, /^[0-9a-f-]{36}$/)
  t.notOk('end_status' in created)
  t.notOk('exit_code' in created)
  t.notOk('processes' in created)

  const get = async () => (await call(sim, 'GET', `/computations/${created.id}`)).json as Computation
  clock.advance(1000)
  t.match(await get(), { state: 'running', run_time: 0, has_results: false })
  clock.advance(2500)
  t.match(await get(), { state: 'running', run_time: 2 })
  clock.advance(500)
  t.match(await get(), { state: 'finalizing', run_time: 3, has_results: false })
  t.notOk('end_status' in (await get()))
  clock.advance(1000)
  t.match(await get(), { state: 'completed', run_time: 3, end_status: 'succeeded', exit_code: 0, has_results: true })
})

t.test('completes runs of the failing capsule with end_status failed and exit code 1', async (t) => {
  const { sim, id } = await completedRun(t)
  const failing = await run(sim, { capsule_id: SIMULATOR_CAPSULES.failing })
  t.match(sim.getComputation(failing.id), { state: 'completed', end_status: 'failed', exit_code: 1, has_results: true })
  t.match(sim.getComputation(id), { end_status: 'succeeded', exit_code: 0 })
})

t.test('rejects RunParams with both or neither of capsule_id and pipeline_id', async (t) => {
  const sim = await start(t)
  for (const body of [
    { capsule_id: SIMULATOR_CAPSULES.analysis, pipeline_id: SIMULATOR_PIPELINES.main },
    {},
    { capsule_id: null, pipeline_id: null }
  ]) {
    const reply = await call(sim, 'POST', '/computations', { body })
    t.equal(reply.status, 400)
    t.match(reply.json.message, /exactly one of capsule_id or pipeline_id/)
  }
})

t.test('answers 404 for a run of an unknown capsule or pipeline', async (t) => {
  const sim = await start(t)
  const unknown = '00000000-0000-4000-8000-000000000000'
  t.match(await call(sim, 'POST', '/computations', { body: { capsule_id: unknown } }), {
    status: 404,
    json: { message: /Capsule/ }
  })
  t.match(await call(sim, 'POST', '/computations', { body: { pipeline_id: unknown } }), {
    status: 404,
    json: { message: /Pipeline/ }
  })
  t.equal(sim.requests.length, 2)
})

t.test('accepts null for every optional RunParams field, as the SDK serialises them', async (t) => {
  const sim = await start(t)
  const computation = await run(sim, {
    capsule_id: SIMULATOR_CAPSULES.analysis,
    pipeline_id: null,
    version: null,
    resume_run_id: null,
    nextflow_profile: null,
    data_assets: [
      { id: 'da1', mount: null },
      { id: 'da2', mount: 'reference' },
      { id: 'da3' }
    ],
    parameters: null,
    named_parameters: [{ param_name: 'threshold', value: '0.5' }],
    processes: null
  })
  t.same(computation.data_assets, [
    { id: 'da1', mount: 'da1' },
    { id: 'da2', mount: 'reference' },
    { id: 'da3', mount: 'da3' }
  ])
  t.same(computation.parameters, [{ param_name: 'threshold', value: '0.5' }])
  t.notOk('nextflow_profile' in computation)
})

t.test('reports ordered parameters as {name: "", value}', async (t) => {
  const sim = await start(t)
  const computation = await run(sim, { capsule_id: SIMULATOR_CAPSULES.analysis, parameters: ['75', '', 'HS25'], version: 2 })
  t.same(computation.parameters, [
    { name: '', value: '75' },
    { name: '', value: '' },
    { name: '', value: 'HS25' }
  ])
})

t.test('rejects malformed RunParams bodies with 400 and a message', async (t) => {
  const sim = await start(t)
  const capsule_id = SIMULATOR_CAPSULES.analysis
  const bodies: Array<{ rawBody: string } | { body: unknown }> = [
    { rawBody: '' },
    { rawBody: '{"capsule_id": ' },
    { body: [] },
    { body: null },
    { body: { capsule_id: 5 } },
    { body: { capsule_id, version: 1.5 } },
    { body: { capsule_id, resume_run_id: 3 } },
    { body: { capsule_id, data_assets: {} } },
    { body: { capsule_id, data_assets: ['da1'] } },
    { body: { capsule_id, data_assets: [{ mount: 'x' }] } },
    { body: { capsule_id, data_assets: [{ id: 'da1', mount: 3 }] } },
    { body: { capsule_id, parameters: [1] } },
    { body: { capsule_id, named_parameters: [{ param_name: 'a' }] } },
    { body: { capsule_id, named_parameters: [{ value: 'a' }] } },
    { body: { pipeline_id: SIMULATOR_PIPELINES.main, processes: 'all' } },
    { body: { pipeline_id: SIMULATOR_PIPELINES.main, processes: [{ parameters: [] }] } },
    { body: { pipeline_id: SIMULATOR_PIPELINES.main, nextflow_profile: 1 } }
  ]
  for (const init of bodies) {
    const reply = await call(sim, 'POST', '/computations', init)
    t.equal(reply.status, 400, JSON.stringify(init))
    t.type(reply.json.message, 'string')
  }
  t.same((await call(sim, 'GET', `/capsules/${capsule_id}/computations`)).json, [], 'no run was started')
  t.same((await call(sim, 'GET', `/pipelines/${SIMULATOR_PIPELINES.main}/computations`)).json, [])
})

t.test('runs a pipeline with its processes, their parameters and the nextflow profile', async (t) => {
  const sim = await start(t)
  const computation = await run(sim, {
    pipeline_id: SIMULATOR_PIPELINES.main,
    nextflow_profile: 'docker',
    processes: [
      { name: 'capsule_analysis_2', parameters: ['7'], named_parameters: null },
      { name: 'capsule_extra_3', named_parameters: [{ param_name: 'mode', value: 'fast' }] }
    ]
  })
  t.equal(computation.nextflow_profile, 'docker')
  t.same(computation.processes, [
    { name: 'capsule_analysis_1', capsule_id: SIMULATOR_CAPSULES.analysis, parameters: [] },
    { name: 'capsule_analysis_2', capsule_id: SIMULATOR_CAPSULES.analysis, parameters: [{ name: '', value: '7' }] },
    {
      name: 'capsule_extra_3',
      capsule_id: SIMULATOR_CAPSULES.analysis,
      parameters: [{ param_name: 'mode', value: 'fast' }]
    }
  ])
  t.equal(computation.cloud_workstation, false)
})

t.test('renames with a form-encoded name query, new+name+%26+more becoming "new name & more"', async (t) => {
  const sim = await start(t)
  const { id } = await run(sim)
  const reply = await call(sim, 'PATCH', `/computations/${id}?name=new+name+%26+more`)
  t.equal(reply.status, 204)
  t.equal(reply.text, '')
  t.equal(sim.getComputation(id)?.name, 'new name & more')
  t.same(sim.requests.at(-1)?.query, { name: 'new name & more' })
})

t.test('rejects a rename without a name, and of an unknown computation', async (t) => {
  const sim = await start(t)
  const { id } = await run(sim)
  t.equal((await call(sim, 'PATCH', `/computations/${id}`)).status, 400)
  t.equal((await call(sim, 'PATCH', `/computations/${id}?name=`)).status, 400)
  t.equal((await call(sim, 'PATCH', `/computations/${id}?name=+++`)).status, 400)
  t.equal((await call(sim, 'PATCH', '/computations/nope?name=x')).status, 404)
})

t.test('deletes (and so stops) a computation, after which it is not found', async (t) => {
  const sim = await start(t)
  const { id } = await run(sim)
  const deleted = await call(sim, 'DELETE', `/computations/${id}`)
  t.equal(deleted.status, 204)
  t.equal(deleted.text, '')
  t.match(await call(sim, 'GET', `/computations/${id}`), { status: 404, json: { message: /not found/ } })
  t.equal((await call(sim, 'DELETE', `/computations/${id}`)).status, 404)
  t.equal(sim.getComputation(id), undefined)
})

t.test('lists the results root and a folder of a completed computation, one level per call', async (t) => {
  const { sim, id } = await completedRun(t)
  const root = await call(sim, 'POST', `/computations/${id}/results`, { body: { path: '' } })
  t.equal(root.status, 200)
  t.match(root.json.items, [
    { name: 'output.csv', path: 'output.csv', type: 'file', size: Number },
    { name: 'summary.json', path: 'summary.json', type: 'file', size: Number },
    { name: 'figures', path: 'figures', type: 'folder' },
    { name: 'logs', path: 'logs', type: 'folder' }
  ])
  t.equal(root.json.items.length, 4)
  t.notOk('size' in root.json.items[2])

  const figures = await call(sim, 'POST', `/computations/${id}/results`, { body: { path: 'figures/' } })
  t.same(figures.json, { items: [{ name: 'plot.png', path: 'figures/plot.png', type: 'file', size: 70 }] })

  // The legacy client posts no body at all; a null path is the root as well.
  t.same((await call(sim, 'POST', `/computations/${id}/results`)).json, root.json)
  t.same((await call(sim, 'POST', `/computations/${id}/results`, { body: { path: null } })).json, root.json)
})

t.test('answers an empty listing while a computation has no results yet', async (t) => {
  const sim = await start(t)
  const { id } = await run(sim)
  const reply = await call(sim, 'POST', `/computations/${id}/results`, { body: { path: '' } })
  t.equal(reply.status, 200)
  t.same(reply.json, { items: [] })
})

t.test('rejects results listings of files, unknown folders, bad bodies and unknown computations', async (t) => {
  const { sim, id } = await completedRun(t)
  const list = (init: CallInit, computationId = id) => call(sim, 'POST', `/computations/${computationId}/results`, init)
  t.equal((await list({ body: { path: 'output.csv' } })).status, 404)
  t.equal((await list({ body: { path: 'nowhere' } })).status, 404)
  t.equal((await list({ rawBody: '{"path":' })).status, 400)
  t.equal((await list({ body: ['figures'] })).status, 400)
  t.equal((await list({ body: { path: 3 } })).status, 400)
  t.equal((await list({ body: { path: '' } }, 'unknown')).status, 404)
})

t.test('signs result URLs that download the file directly without the token', async (t) => {
  const { sim, id } = await completedRun(t)
  const reply = await call(sim, 'GET', `/computations/${id}/results/urls?path=summary.json`)
  t.equal(reply.status, 200)
  const urls = reply.json as FileURLs
  t.match(urls.download_url, new RegExp(`^${sim.url}/signed/${id}/summary\\.json\\?expires=\\d+&signature=[0-9a-f]{64}$`))
  t.equal(urls.view_url, `${urls.download_url}&disposition=inline`)

  const download = await fetchSigned(urls.download_url)
  t.equal(download.status, 200)
  t.equal(download.headers.get('content-type'), 'application/json')
  t.equal(download.headers.get('content-disposition'), 'attachment; filename="summary.json"')
  t.match(JSON.parse(download.bytes.toString('utf8')), { computation_id: id })
  t.notOk(sim.requests.at(-1)?.headers.authorization)

  const listing = await call(sim, 'POST', `/computations/${id}/results`, { body: { path: '' } })
  t.equal(listing.json.items[1].size, download.bytes.length)

  const view = await fetchSigned(urls.view_url)
  t.equal(view.headers.get('content-disposition'), 'inline; filename="summary.json"')
  t.same(view.bytes, download.bytes)
})

t.test('signs result URLs for the public origin it is given, and honours them where it listens', async (t) => {
  const { sim, id } = await completedRun(t, { publicUrl: 'http://codeocean.test:18081/' })
  const { json } = await call(sim, 'GET', `/computations/${id}/results/urls?path=output.csv`)
  const { download_url: url } = json as FileURLs
  t.match(url, new RegExp(`^http://codeocean\\.test:18081/signed/${id}/output\\.csv\\?expires=\\d+&signature=[0-9a-f]{64}$`))
  const download = await fetchSigned(url.replace('http://codeocean.test:18081', sim.url))
  t.equal(download.status, 200)
  t.equal(download.bytes.toString('utf8'), 'sample,value\nA,0.12\nB,3.40\nC,5.67\n')
})

t.test('serves binary result files byte for byte', async (t) => {
  const { sim, id } = await completedRun(t)
  const { json } = await call(sim, 'GET', `/computations/${id}/results/urls?path=figures%2Fplot.png`)
  const plot = await fetchSigned((json as FileURLs).download_url)
  t.equal(plot.headers.get('content-type'), 'image/png')
  t.same(plot.bytes.subarray(0, 8), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))
  t.equal(plot.bytes.length, 70)
})

t.test('refuses a tampered, unsigned or expired signed URL with 403', async (t) => {
  const clock = fakeClock()
  const { sim, id } = await completedRun(t, { now: clock.now })
  const { json } = await call(sim, 'GET', `/computations/${id}/results/urls?path=output.csv`)
  const url = (json as FileURLs).download_url
  const last = url.at(-1) === '0' ? '1' : '0'
  t.equal((await fetchSigned(url.slice(0, -1) + last)).status, 403)
  t.equal((await fetchSigned(url.replace('output.csv', 'summary.json'))).status, 403)
  t.equal((await fetchSigned(url.replace(/expires=\d+/, 'expires=9999999999'))).status, 403)
  t.equal((await fetchSigned(url.replace(/&signature=.*$/, ''))).status, 403)
  t.equal((await fetchSigned(url.replace(/expires=\d+&/, ''))).status, 403)
  const refused = await fetchSigned(url.replace(/signature=.*$/, 'signature=zz'))
  t.equal(refused.status, 403)
  t.match(JSON.parse(refused.bytes.toString('utf8')), { message: String })
  t.equal((await fetchSigned(url)).status, 200)
  clock.advance(3601 * 1000)
  const expired = await fetchSigned(url)
  t.equal(expired.status, 403)
  t.match(JSON.parse(expired.bytes.toString('utf8')), { message: /expired/ })
})

t.test('answers malformed signed requests without crashing', async (t) => {
  const { sim, id } = await completedRun(t)
  const { json } = await call(sim, 'GET', `/computations/${id}/results/urls?path=output.csv`)
  const url = (json as FileURLs).download_url
  t.equal((await fetchSigned(url, { method: 'POST' })).status, 405)
  t.equal((await fetchSigned(`${sim.url}/signed/${id}`)).status, 404)
  t.equal((await fetchSigned(`${sim.url}/signed/${id}/%E0%A4%A.csv?expires=1&signature=00`)).status, 400)
  t.equal((await call(sim, 'DELETE', `/computations/${id}`)).status, 204)
  t.equal((await fetchSigned(url)).status, 404)
})

t.test('serves the deprecated download_url as {url}', async (t) => {
  const { sim, id } = await completedRun(t)
  const reply = await call(sim, 'GET', `/computations/${id}/results/download_url?path=%2Flogs%2Frun.log`)
  t.equal(reply.status, 200)
  t.same(Object.keys(reply.json), ['url'])
  const file = await fetchSigned(reply.json.url as string)
  t.equal(file.status, 200)
  t.match(file.bytes.toString('utf8'), `computation ${id}`)
  t.equal(file.headers.get('content-disposition'), 'attachment; filename="run.log"')
})

t.test('rejects URL requests without a path, or for files the results do not hold', async (t) => {
  const { sim, id } = await completedRun(t)
  for (const route of ['urls', 'download_url']) {
    t.equal((await call(sim, 'GET', `/computations/${id}/results/${route}`)).status, 400)
    t.equal((await call(sim, 'GET', `/computations/${id}/results/${route}?path=`)).status, 400)
    t.equal((await call(sim, 'GET', `/computations/${id}/results/${route}?path=missing.txt`)).status, 404)
    t.equal((await call(sim, 'GET', `/computations/${id}/results/${route}?path=figures`)).status, 404)
    t.equal((await call(sim, 'GET', `/computations/nope/results/${route}?path=output.csv`)).status, 404)
  }
  sim.addComputation({ id: 'still-running', state: 'running' })
  t.equal((await call(sim, 'GET', '/computations/still-running/results/urls?path=output.csv')).status, 404)
})

t.test('runs the workstation capsule as a cloud workstation that stays running', async (t) => {
  const clock = fakeClock()
  const sim = await start(t, { now: clock.now })
  const session = await run(sim, { capsule_id: SIMULATOR_CAPSULES.workstation })
  t.equal(session.cloud_workstation, true)
  clock.advance(24 * 3600 * 1000)
  t.match(sim.getComputation(session.id), { state: 'running', run_time: 86_399, has_results: false })
  sim.complete(session.id)
  t.match(sim.getComputation(session.id), { state: 'completed', end_status: 'succeeded', exit_code: 0, run_time: 86_399 })
})

t.test('attaches and detaches data assets on a cloud workstation', async (t) => {
  const sim = await start(t)
  const { id } = await run(sim, { capsule_id: SIMULATOR_CAPSULES.workstation, data_assets: [{ id: 'base' }] })
  const attached = await call(sim, 'POST', `/computations/${id}/data_assets`, {
    body: [{ id: 'da1' }, { id: 'da2', mount: 'refs' }]
  })
  t.equal(attached.status, 200)
  t.match(attached.json, [
    { id: 'da1', mount: 'da1', mount_state: 'mounting', external: false, ready: false },
    { id: 'da2', mount: 'refs', mount_state: 'mounting', external: false, ready: false }
  ])
  t.match(attached.json[0].job_id, /^[0-9a-f-]{36}$/)
  t.same(sim.getComputation(id)?.data_assets, [
    { id: 'base', mount: 'base' },
    { id: 'da1', mount: 'da1' },
    { id: 'da2', mount: 'refs' }
  ])

  await call(sim, 'POST', `/computations/${id}/data_assets`, { body: [{ id: 'da1', mount: 'moved' }] })
  const detached = await call(sim, 'DELETE', `/computations/${id}/data_assets/`, { body: ['base', 'da2', 'never-attached'] })
  t.equal(detached.status, 204)
  t.equal(detached.text, '')
  t.same(sim.getComputation(id)?.data_assets, [{ id: 'da1', mount: 'moved' }])
})

t.test('rejects attach and detach on a computation that is not a cloud workstation', async (t) => {
  const sim = await start(t)
  const { id } = await run(sim)
  const attach = await call(sim, 'POST', `/computations/${id}/data_assets`, { body: [{ id: 'da1' }] })
  t.match(attach, { status: 400, json: { message: /cloud workstation/ } })
  t.equal((await call(sim, 'DELETE', `/computations/${id}/data_assets/`, { body: ['da1'] })).status, 400)
  t.same(sim.getComputation(id)?.data_assets, [])
  t.equal((await call(sim, 'POST', '/computations/nope/data_assets', { body: [] })).status, 404)
  t.equal((await call(sim, 'DELETE', '/computations/nope/data_assets/', { body: [] })).status, 404)
})

t.test('rejects attach and detach bodies that are not arrays of the right items', async (t) => {
  const sim = await start(t)
  const { id } = await run(sim, { capsule_id: SIMULATOR_CAPSULES.workstation })
  const attach = (init: CallInit) => call(sim, 'POST', `/computations/${id}/data_assets`, init)
  const detach = (init: CallInit) => call(sim, 'DELETE', `/computations/${id}/data_assets/`, init)
  t.equal((await attach({ body: { id: 'da1' } })).status, 400)
  t.equal((await attach({})).status, 400)
  t.equal((await attach({ body: [{ mount: 'x' }] })).status, 400)
  t.equal((await attach({ rawBody: '[{' })).status, 400)
  t.equal((await detach({ body: { ids: ['da1'] } })).status, 400)
  t.equal((await detach({ body: [{ id: 'da1' }] })).status, 400)
  t.equal((await detach({})).status, 400)
})

t.test('routes detach only with the trailing slash the SDK sends', async (t) => {
  const sim = await start(t)
  const { id } = await run(sim, { capsule_id: SIMULATOR_CAPSULES.workstation })
  const reply = await call(sim, 'DELETE', `/computations/${id}/data_assets`, { body: ['da1'] })
  t.equal(reply.status, 405)
  t.equal(reply.headers.get('allow'), 'POST')
  t.equal((await call(sim, 'POST', `/computations/${id}/data_assets/`, { body: [] })).status, 405)
})

t.test('lists the computations of a capsule and of a pipeline', async (t) => {
  const sim = await start(t)
  const first = await run(sim)
  const second = await run(sim)
  await run(sim, { capsule_id: SIMULATOR_CAPSULES.failing })
  const pipelineRun = await run(sim, { pipeline_id: SIMULATOR_PIPELINES.main })

  const capsule = await call(sim, 'GET', `/capsules/${SIMULATOR_CAPSULES.analysis}/computations`)
  t.equal(capsule.status, 200)
  t.same(
    (capsule.json as Computation[]).map((c) => c.id),
    [first.id, second.id]
  )
  const pipeline = await call(sim, 'GET', `/pipelines/${SIMULATOR_PIPELINES.main}/computations`)
  t.same(
    (pipeline.json as Computation[]).map((c) => c.id),
    [pipelineRun.id]
  )
  t.same((await call(sim, 'GET', `/capsules/${SIMULATOR_CAPSULES.workstation}/computations`)).json, [])
  t.equal((await call(sim, 'GET', '/capsules/unknown/computations')).status, 404)
  t.equal((await call(sim, 'GET', '/pipelines/unknown/computations')).status, 404)
})

t.test('merges extraFields into every computation it sends', async (t) => {
  const extraFields = { future_field: { nested: true }, tags: ['a'] }
  const sim = await start(t, { extraFields })
  const created = await run(sim)
  t.match(created, extraFields)
  t.match((await call(sim, 'GET', `/computations/${created.id}`)).json, extraFields)
  t.match((await call(sim, 'GET', `/capsules/${SIMULATOR_CAPSULES.analysis}/computations`)).json, [extraFields])
  t.match(sim.getComputation(created.id), extraFields)
  t.match(sim.addComputation({}), extraFields)
})

t.test('lets extraFields override a known field, e.g. an enum value the SDK does not know', async (t) => {
  const sim = await start(t, { extraFields: { state: 'queued' } })
  t.equal((await run(sim)).state, 'queued')
})

t.test('accepts a Min-Server-Version up to its own and rejects a higher or malformed one with 400', async (t) => {
  const sim = await start(t)
  const path = `/capsules/${SIMULATOR_CAPSULES.analysis}/computations`
  const withVersion = (version: string) => call(sim, 'GET', path, { headers: { 'min-server-version': version } })
  t.equal((await withVersion('4.6.0')).status, 200)
  t.equal((await withVersion('4.5.10')).status, 200)
  t.equal((await withVersion('3.6.0')).status, 200)
  const tooNew = await withVersion('4.6.1')
  t.equal(tooNew.status, 400)
  t.match(tooNew.json.message, /4\.6\.0.*4\.6\.1/)
  t.equal((await withVersion('5.0.0')).status, 400)
  for (const malformed of ['4.6', 'latest', '4.6.0-beta', '']) {
    const reply = await withVersion(malformed)
    t.equal(reply.status, 400, malformed)
    t.match(reply.json.message, /Malformed Min-Server-Version/)
  }
})

t.test('compares Min-Server-Version with the configured serverVersion', async (t) => {
  const sim = await start(t, { serverVersion: '5.1.0' })
  const reply = await call(sim, 'GET', `/capsules/${SIMULATOR_CAPSULES.analysis}/computations`, {
    headers: { 'min-server-version': '5.0.3' }
  })
  t.equal(reply.status, 200)
})

t.test('answers an injected status with retry-after, then handles the next request normally', async (t) => {
  const sim = await start(t)
  sim.inject({ method: 'post', path: '/api/v1/computations', status: 429, headers: { 'retry-after': '2' }, times: 1 })
  const limited = await call(sim, 'POST', '/computations', { body: { capsule_id: SIMULATOR_CAPSULES.analysis } })
  t.equal(limited.status, 429)
  t.equal(limited.headers.get('retry-after'), '2')
  t.equal(limited.headers.get('content-type'), 'application/json')
  t.same(limited.json, { message: 'Simulated fault' })
  t.equal((await call(sim, 'POST', '/computations', { body: { capsule_id: SIMULATOR_CAPSULES.analysis } })).status, 200)
  t.equal(sim.requests.length, 2)
  t.match(sim.requests[0]?.response, { status: 429, headers: { 'retry-after': '2' } })
})

t.test('injects faults before auth, with a string, an object or no body', async (t) => {
  const sim = await start(t)
  sim.inject({ path: '/api/v1/a', status: 502, body: '<html>Bad gateway</html>', headers: { 'Content-Type': 'text/html' } })
  sim.inject({ path: '/api/v1/b', status: 500, body: { message: 'boom', datasets: [{ id: '1' }] } })
  sim.inject({ path: '/api/v1/c', status: 202 })
  const a = await call(sim, 'GET', '/a', { auth: false })
  t.match(a, { status: 502, text: '<html>Bad gateway</html>' })
  t.equal(a.headers.get('content-type'), 'text/html')
  t.match(await call(sim, 'GET', '/b', { auth: false }), { status: 500, json: { message: 'boom', datasets: [{ id: '1' }] } })
  t.match(await call(sim, 'GET', '/c', { auth: false }), { status: 202, text: '' })
  sim.inject({ path: '/api/v1/d', status: 503, body: 'down' })
  const d = await call(sim, 'GET', '/d')
  t.equal(d.headers.get('content-type'), 'text/plain; charset=utf-8')
})

t.test('adds a fault\'s headers to the normal answer when it has no status', async (t) => {
  const sim = await start(t)
  sim.inject({ method: 'GET', headers: { 'x-upstream': 'simulated' } })
  const reply = await call(sim, 'GET', `/capsules/${SIMULATOR_CAPSULES.analysis}/computations`)
  t.equal(reply.status, 200)
  t.equal(reply.headers.get('x-upstream'), 'simulated')
})

t.test('delays a request, then handles it normally or with the fault status', async (t) => {
  const sim = await start(t)
  sim.inject({ path: `/api/v1/capsules/${SIMULATOR_CAPSULES.analysis}/computations`, delayMs: 150, times: 1 })
  const started = performance.now()
  const reply = await call(sim, 'GET', `/capsules/${SIMULATOR_CAPSULES.analysis}/computations`)
  t.equal(reply.status, 200)
  t.ok(performance.now() - started >= 140, 'answered after the delay')

  sim.inject({ path: /\/computations$/, delayMs: 50, status: 504, times: 1 })
  t.equal((await call(sim, 'GET', `/capsules/${SIMULATOR_CAPSULES.analysis}/computations`)).status, 504)
})

t.test('hangs a request until the client gives up, recording it without a response', async (t) => {
  const sim = await start(t)
  sim.inject({ path: `/api/v1/capsules/${SIMULATOR_CAPSULES.analysis}/computations`, hang: true })
  const hung = fetch(`${sim.url}/api/v1/capsules/${SIMULATOR_CAPSULES.analysis}/computations`, {
    headers: { authorization: AUTHORIZATION },
    signal: AbortSignal.timeout(200)
  })
  await t.rejects(hung, { name: 'TimeoutError' })
  t.equal(sim.requests.length, 1)
  t.equal(sim.requests[0]?.response, undefined)
})

t.test('closes promptly while requests hang or wait on a delay', async (t) => {
  const sim = await startSimulator({ token: TOKEN })
  sim.inject({ path: '/api/v1/hang', hang: true })
  sim.inject({ path: '/api/v1/slow', delayMs: 60_000 })
  const pending = ['/hang', '/slow'].map((path) =>
    fetch(`${sim.url}/api/v1${path}`, { signal: AbortSignal.timeout(5000) }).then(
      () => 'answered',
      () => 'failed'
    )
  )
  while (sim.requests.length < 2) await sleep(5)
  const started = performance.now()
  await sim.close()
  t.ok(performance.now() - started < 5000, 'close did not wait for the hung requests (they never end)')
  t.same(await Promise.all(pending), ['failed', 'failed'])
  t.equal(sim.close(), sim.close(), 'close is idempotent')
  await sim.close()
})

t.test('resets the connection without answering', async (t) => {
  const sim = await start(t)
  sim.inject({ method: 'POST', path: '/api/v1/computations', reset: true })
  await t.rejects(
    fetch(`${sim.url}/api/v1/computations`, {
      method: 'POST',
      headers: { authorization: AUTHORIZATION, 'content-type': 'application/json' },
      body: JSON.stringify({ capsule_id: SIMULATOR_CAPSULES.analysis }),
      signal: AbortSignal.timeout(5000)
    }),
    TypeError
  )
  t.equal(sim.requests.length, 1)
  t.equal(sim.requests[0]?.response, undefined)
  t.same(sim.requests[0]?.body, { capsule_id: SIMULATOR_CAPSULES.analysis })
  t.same((await call(sim, 'GET', `/capsules/${SIMULATOR_CAPSULES.analysis}/computations`)).json, [])
})

t.test('applies the first matching fault and removes it when its times run out', async (t) => {
  const sim = await start(t)
  const path = `/capsules/${SIMULATOR_CAPSULES.analysis}/computations`
  sim.inject({ method: 'POST', status: 418 })
  sim.inject({ path: /^\/api\/v1\/capsules\//g, status: 503, times: 2 })
  sim.inject({ path: `/api/v1${path}`, status: 500 })
  sim.inject({ path: '/elsewhere', status: 400 })
  sim.inject({ status: 599, times: 0 })
  const statuses: number[] = []
  for (let i = 0; i < 4; i += 1) statuses.push((await call(sim, 'GET', path)).status)
  t.same(statuses, [503, 503, 500, 500])
  sim.clearFaults()
  t.equal((await call(sim, 'GET', path)).status, 200)
})

t.test('rejects invalid faults when they are injected', async (t) => {
  const sim = await start(t)
  t.throws(() => sim.inject({ times: -1 }), RangeError)
  t.throws(() => sim.inject({ times: 1.5 }), RangeError)
  t.throws(() => sim.inject({ status: 99 }), RangeError)
  t.throws(() => sim.inject({ status: 600 }), RangeError)
  t.throws(() => sim.inject({ delayMs: -5 }), RangeError)
  t.throws(() => sim.inject({ delayMs: Number.NaN }), RangeError)
  t.throws(() => sim.inject({ headers: { 'bad header': 'x' } }))
  t.throws(() => sim.inject({ headers: { 'x-ok': 'line\nbreak' } }))
})

t.test('records every request with its raw url, decoded query, headers, body text and answer', async (t) => {
  const { sim, id } = await completedRun(t)
  sim.clearRequests()
  t.same(sim.requests, [])
  await call(sim, 'GET', `/computations/${id}/results/urls?path=dir%2Fa+b.txt&x=1`)
  const body = '{ "path" : "figures" }'
  await call(sim, 'POST', `/computations/${id}/results`, { rawBody: body, headers: { 'agent-id': 'Test Agent' } })

  t.equal(sim.requests.length, 2)
  const [urls, results] = sim.requests
  t.match(urls, {
    method: 'GET',
    url: `/api/v1/computations/${id}/results/urls?path=dir%2Fa+b.txt&x=1`,
    path: `/api/v1/computations/${id}/results/urls`,
    bodyText: '',
    body: undefined,
    response: { status: 404, headers: { 'content-type': 'application/json' } }
  })
  t.same(urls?.query, { path: 'dir/a b.txt', x: '1' })
  t.equal(urls?.headers.authorization, AUTHORIZATION)
  t.match(results, { method: 'POST', query: {}, bodyText: body, body: { path: 'figures' } })
  t.equal(results?.headers['agent-id'], 'Test Agent')
  t.same(JSON.parse(results?.response?.bodyText ?? ''), {
    items: [{ name: 'plot.png', path: 'figures/plot.png', type: 'file', size: 70 }]
  })
  t.equal(results?.response?.headers['content-length'], String(results?.response?.bodyText.length))
})

t.test('accepts an empty body with a JSON content type on GET, PATCH and DELETE', async (t) => {
  const sim = await start(t)
  const { id } = await run(sim)
  t.equal((await call(sim, 'GET', `/computations/${id}`)).status, 200)
  t.equal((await call(sim, 'PATCH', `/computations/${id}?name=x`, { rawBody: '' })).status, 204)
  t.equal((await call(sim, 'DELETE', `/computations/${id}`, { rawBody: '' })).status, 204)
})

t.test('answers 404 for unknown routes and 405 for a wrong method on a known one', async (t) => {
  const sim = await start(t)
  const outside = await fetch(`${sim.url}/nope`, { signal: AbortSignal.timeout(5000) })
  t.equal(outside.status, 404)
  t.match(await outside.json(), { message: String })
  t.equal((await call(sim, 'GET', '')).status, 404)
  t.equal((await call(sim, 'GET', '/computations/x/')).status, 404)
  t.equal((await call(sim, 'GET', '/data_assets')).status, 404)
  t.equal((await call(sim, 'GET', '/nope', { auth: false })).status, 401, 'authenticates before routing')
  const wrongMethod = await call(sim, 'GET', '/computations')
  t.equal(wrongMethod.status, 405)
  t.equal(wrongMethod.headers.get('allow'), 'POST')
  t.match(wrongMethod.json, { message: /GET/ })
  t.equal((await call(sim, 'PUT', '/computations/x')).headers.get('allow'), 'GET, PATCH, DELETE')
})

t.test('answers 413 for a body over 1 MiB', async (t) => {
  const sim = await start(t)
  const reply = await call(sim, 'POST', '/computations', { rawBody: 'x'.repeat(1024 * 1024 + 1) })
  t.equal(reply.status, 413)
  t.equal(sim.requests[0]?.bodyText, '')
})

t.test('survives a client that disconnects in the middle of a body', async (t) => {
  const sim = await start(t)
  const socket = connect(sim.port, '127.0.0.1')
  await once(socket, 'connect')
  socket.write('POST /api/v1/computations HTTP/1.1\r\nHost: sim\r\nContent-Length: 100\r\n\r\n{"capsule_id":')
  await sleep(30)
  socket.destroy()
  await sleep(30)
  t.equal(sim.requests.length, 0, 'a request whose body never arrived is not recorded')
  t.equal((await call(sim, 'GET', `/capsules/${SIMULATOR_CAPSULES.analysis}/computations`)).status, 200)
})

t.test('answers 500 when handling fails unexpectedly, and keeps serving', async (t) => {
  let broken = false
  const sim = await start(t, {
    now: () => {
      if (broken) throw new Error('clock stopped')
      return Date.now()
    }
  })
  const { id } = await run(sim)
  broken = true
  const reply = await call(sim, 'GET', `/computations/${id}`)
  t.match(reply, { status: 500, json: { message: /clock stopped/ } })
  broken = false
  t.equal((await call(sim, 'GET', `/computations/${id}`)).status, 200)
})

t.test('complete() forces a run to completed now, with a chosen outcome', async (t) => {
  const clock = fakeClock()
  const sim = await start(t, { now: clock.now })
  const stopped = await run(sim)
  const failed = await run(sim, { capsule_id: SIMULATOR_CAPSULES.failing })
  const custom = await run(sim)
  clock.advance(2500)
  sim.complete(stopped.id, { end_status: 'stopped' })
  sim.complete(failed.id)
  sim.complete(custom.id, { end_status: 'failed', exit_code: 137 })
  clock.advance(60_000)
  t.match(sim.getComputation(stopped.id), { state: 'completed', end_status: 'stopped', exit_code: 1, run_time: 1, has_results: true })
  t.match(sim.getComputation(failed.id), { end_status: 'failed', exit_code: 1 })
  t.match(sim.getComputation(custom.id), { end_status: 'failed', exit_code: 137 })
  t.throws(() => sim.complete('unknown'), TypeError)
})

t.test('addComputation follows the clock from now unless given a state', async (t) => {
  const clock = fakeClock()
  const sim = await start(t, { now: clock.now, timings: { initializingMs: 10, runningMs: 10, finalizingMs: 10 } })
  const plain = sim.addComputation({})
  t.match(plain, { state: 'initializing', created: T0 / 1000, owner: SIMULATOR_OWNER.id, cloud_workstation: false })
  clock.advance(30)
  t.match(sim.getComputation(plain.id), { state: 'completed', end_status: 'succeeded', has_results: true })
  t.same(
    ((await call(sim, 'GET', `/capsules/${SIMULATOR_CAPSULES.analysis}/computations`)).json as Computation[]).map((c) => c.id),
    [plain.id]
  )
  const session = sim.addComputation({ capsule_id: SIMULATOR_CAPSULES.workstation })
  clock.advance(1000)
  t.match(sim.getComputation(session.id), { state: 'running', cloud_workstation: true })
  const notSession = sim.addComputation({ capsule_id: SIMULATOR_CAPSULES.workstation, cloud_workstation: false })
  clock.advance(1000)
  t.match(sim.getComputation(notSession.id), { state: 'completed', cloud_workstation: false })
})

t.test('addComputation pins a given state with the fields it was given', async (t) => {
  const clock = fakeClock()
  const sim = await start(t, { now: clock.now, timings: { initializingMs: 10, runningMs: 10, finalizingMs: 10 } })
  const outside = sim.addComputation({
    id: 'outside-run',
    capsule_id: '11111111-2222-4333-8444-555555555555',
    name: 'Started in the UI',
    created: 1_600_000_000,
    owner: 'someone-else',
    owner_email: 'someone@example.com',
    state: 'running',
    run_time: 42,
    data_assets: [{ id: 'd', mount: 'm' }],
    parameters: [{ name: 'Threshold', param_name: 'threshold', value: '1' }],
    nextflow_profile: 'local'
  })
  clock.advance(3_600_000)
  t.same(sim.getComputation('outside-run'), {
    ...outside,
    id: 'outside-run',
    created: 1_600_000_000,
    name: 'Started in the UI',
    owner: 'someone-else',
    owner_email: 'someone@example.com',
    run_time: 42,
    state: 'running',
    cloud_workstation: false,
    data_assets: [{ id: 'd', mount: 'm' }],
    parameters: [{ name: 'Threshold', param_name: 'threshold', value: '1' }],
    nextflow_profile: 'local',
    has_results: false
  })
  t.notOk('end_status' in outside)
  t.equal((await call(sim, 'GET', '/capsules/11111111-2222-4333-8444-555555555555/computations')).json.length, 1)

  t.match(sim.addComputation({ state: 'completed' }), { end_status: 'succeeded', exit_code: 0, has_results: true })
  t.match(sim.addComputation({ state: 'completed', capsule_id: SIMULATOR_CAPSULES.failing }), {
    end_status: 'failed',
    exit_code: 1
  })
  t.match(sim.addComputation({ state: 'failed' }), { end_status: 'failed', exit_code: 1, has_results: false })
  t.match(sim.addComputation({ state: 'completed', end_status: 'stopped', exit_code: 143, has_results: false }), {
    end_status: 'stopped',
    exit_code: 143,
    has_results: false
  })

  sim.complete('outside-run')
  t.match(sim.getComputation('outside-run'), { state: 'completed', run_time: 42, end_status: 'succeeded' })
})

t.test('addComputation attaches runs to pipelines, known or new', async (t) => {
  const sim = await start(t)
  const seeded = sim.addComputation({ pipeline_id: SIMULATOR_PIPELINES.main })
  t.same(seeded.processes?.map((p) => p.name), ['capsule_analysis_1', 'capsule_analysis_2'])
  const custom = sim.addComputation({
    pipeline_id: SIMULATOR_PIPELINES.main,
    processes: [{ name: 'only', capsule_id: SIMULATOR_CAPSULES.failing }]
  })
  t.same(custom.processes, [{ name: 'only', capsule_id: SIMULATOR_CAPSULES.failing }])
  const other = sim.addComputation({ pipeline_id: '99999999-8888-4777-8666-555555555555' })
  t.same(other.processes, [])
  t.same(
    ((await call(sim, 'GET', '/pipelines/99999999-8888-4777-8666-555555555555/computations')).json as Computation[]).map(
      (c) => c.id
    ),
    [other.id]
  )
  t.same(
    ((await call(sim, 'GET', `/capsules/${SIMULATOR_CAPSULES.analysis}/computations`)).json as Computation[]).length,
    0
  )
})

t.test('addComputation refuses both capsule and pipeline, and a duplicate id', async (t) => {
  const sim = await start(t)
  t.throws(
    () => sim.addComputation({ capsule_id: SIMULATOR_CAPSULES.analysis, pipeline_id: SIMULATOR_PIPELINES.main }),
    TypeError
  )
  sim.addComputation({ id: 'twice' })
  t.throws(() => sim.addComputation({ id: 'twice' }), TypeError)
})

t.test('validates its options when starting', async (t) => {
  await t.rejects(startSimulator({ token: '' }), TypeError)
  await t.rejects(startSimulator({ token: TOKEN, serverVersion: 'v4' }), TypeError)
  await t.rejects(startSimulator({ token: TOKEN, timings: { runningMs: -1 } }), RangeError)
  await t.rejects(startSimulator({ token: TOKEN, timings: { finalizingMs: Number.POSITIVE_INFINITY } }), RangeError)
  for (const publicUrl of ['codeocean.test:8081', 'ftp://codeocean.test', 'http://codeocean.test/?x=1', 'http://', 'http://[::1']) {
    await t.rejects(startSimulator({ token: TOKEN, publicUrl }), TypeError, publicUrl)
  }
})

t.test('fails to start on a port already in use', async (t) => {
  const sim = await start(t)
  await t.rejects(startSimulator({ token: TOKEN, port: sim.port }), { code: 'EADDRINUSE' })
})

t.test('listens on an IPv6 loopback with a bracketed url', async (t) => {
  const sim = await start(t, { host: '::1' })
  t.equal(sim.url, `http://[::1]:${sim.port}`)
  t.equal((await call(sim, 'GET', `/capsules/${SIMULATOR_CAPSULES.analysis}/computations`)).status, 200)
})
