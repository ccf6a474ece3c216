// A client generated from the committed OpenAPI document (openapi-typescript types, used with
// openapi-fetch) runs the whole flow against the running proxy. `npm run typecheck` checks this
// file against the generated types, so a schema change that breaks such clients fails there.
import createClient from 'openapi-fetch'
import t from 'tap'
import type { components, paths } from '../openapi/openapi.js'
import { createServiceKey } from '../src/identity/service-keys.js'
import { buildTestApp } from './helpers/app.js'
import { startTestSimulator } from './helpers/simulator.js'

type Computation = components['schemas']['Computation']

t.test('a generated TypeScript client runs, polls, lists, fetches URLs, renames and deletes', async (t) => {
  const simulator = await startTestSimulator(t, { timings: { initializingMs: 20, runningMs: 60, finalizingMs: 20 } })
  // The default policy: the key's holder reaches the computations it starts, and only those.
  const proxy = await buildTestApp(t, simulator.url, { POLICY_FILE: '' })
  const { key } = await createServiceKey(proxy.store, { subject: 'nightly-pipeline', groups: [] })
  const baseUrl = await proxy.app.listen({ host: '127.0.0.1', port: 0 })
  const client = createClient<paths>({ baseUrl, headers: { authorization: `Bearer ${key}` } })

  const run = await client.POST('/api/v1/computations', {
    body: { capsule_id: simulator.capsules.analysis, named_parameters: [{ param_name: 'threshold', value: '0.5' }] }
  })
  if (run.data === undefined) throw new Error(`run failed: ${run.error.message}`)
  const id = run.data.id
  t.equal(run.data.state, 'initializing')

  let computation: Computation | undefined
  for (let poll = 0; poll < 100 && computation?.state !== 'completed'; poll++) {
    const got = await client.GET('/api/v1/computations/{computation_id}', { params: { path: { computation_id: id } } })
    computation = got.data
    if (computation?.state !== 'completed') await new Promise((resolve) => setTimeout(resolve, 20))
  }
  t.match(computation, { id, state: 'completed', end_status: 'succeeded', exit_code: 0, has_results: true })

  const root = await client.POST('/api/v1/computations/{computation_id}/results', {
    params: { path: { computation_id: id } },
    body: { path: '' }
  })
  const file = root.data?.items.find((item) => item.type === 'file')
  if (file === undefined) throw new Error('no result file')

  const urls = await client.GET('/api/v1/computations/{computation_id}/results/urls', {
    params: { path: { computation_id: id }, query: { path: file.path } }
  })
  t.type(urls.data?.download_url, 'string')
  t.type(urls.data?.view_url, 'string')

  const renamed = await client.PATCH('/api/v1/computations/{computation_id}', {
    params: { path: { computation_id: id }, query: { name: 'typed client run' } }
  })
  t.equal(renamed.response.status, 204)
  const listed = await client.GET('/api/v1/capsules/{capsule_id}/computations', { params: { path: { capsule_id: simulator.capsules.analysis } } })
  t.same(listed.data?.map((entry) => [entry.id, entry.name]), [[id, 'typed client run']])

  const deleted = await client.DELETE('/api/v1/computations/{computation_id}', { params: { path: { computation_id: id } } })
  t.equal(deleted.response.status, 204)
  const gone = await client.GET('/api/v1/computations/{computation_id}', { params: { path: { computation_id: id } } })
  t.equal(gone.response.status, 404)
  t.type(gone.error?.message, 'string', 'errors are typed too')

  const rejected = await client.POST('/api/v1/computations', { body: { capsule_id: 'not-a-uuid' } })
  t.equal(rejected.response.status, 400)
  t.equal(rejected.error?.code, 'PROXY_INVALID_REQUEST')
})
