// The capsule and pipeline listings: arrays of computations passed through untouched.
import t from 'tap'
import { buildTestApp } from '../helpers/app.js'
import { startTestSimulator } from '../helpers/simulator.js'

t.test('listCapsuleComputations returns the capsule\'s computations as sent', async (t) => {
  const simulator = await startTestSimulator(t, { extraFields: { future_field: true } })
  const proxy = await buildTestApp(t, simulator.url)
  const first = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  const second = simulator.addComputation({ capsule_id: simulator.capsules.analysis, state: 'completed' })
  const response = await proxy.inject({ method: 'GET', url: `/api/v1/capsules/${simulator.capsules.analysis}/computations` })
  t.equal(simulator.requests.length, 1)
  const seen = simulator.requests[0]
  t.equal(seen?.url, `/api/v1/capsules/${simulator.capsules.analysis}/computations`)
  t.equal(response.statusCode, 200)
  t.equal(response.body, seen?.response?.bodyText)
  const ids = (response.json() as Array<{ id: string, future_field: boolean }>).map((computation) => computation.id).sort()
  t.same(ids, [first.id, second.id].sort())
  t.ok((response.json() as Array<{ future_field: boolean }>).every((computation) => computation.future_field))
})

t.test('listPipelineComputations returns the pipeline\'s computations as sent', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url)
  const run = simulator.addComputation({ pipeline_id: simulator.pipelines.main })
  const response = await proxy.inject({ method: 'GET', url: `/api/v1/pipelines/${simulator.pipelines.main}/computations` })
  t.equal(simulator.requests.length, 1)
  t.equal(simulator.requests[0]?.url, `/api/v1/pipelines/${simulator.pipelines.main}/computations`)
  t.equal(response.statusCode, 200)
  t.equal(response.body, simulator.requests[0]?.response?.bodyText)
  t.same((response.json() as Array<{ id: string }>).map((computation) => computation.id), [run.id])
})

t.test('an unknown capsule\'s 404 passes through with its body', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url)
  const response = await proxy.inject({ method: 'GET', url: '/api/v1/capsules/00000000-0000-4000-8000-000000000000/computations' })
  t.equal(simulator.requests.length, 1)
  t.equal(response.statusCode, 404)
  t.equal(response.body, simulator.requests[0]?.response?.bodyText)
  t.type(response.json().message, 'string')
})
