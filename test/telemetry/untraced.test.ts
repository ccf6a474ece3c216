// Tracing off (no OTLP endpoint): nothing is registered, and a caller's own trace context is
// passed on to Code Ocean as it came, when it has a traceparent's shape.
import { propagation, trace } from '@opentelemetry/api'
import t from 'tap'
import { buildTestApp } from '../helpers/app.js'
import { startTestSimulator } from '../helpers/simulator.js'

const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'

t.test('a caller\'s traceparent and tracestate reach Code Ocean unchanged', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url)
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  const response = await proxy.inject({ method: 'GET', url: `/api/v1/computations/${computation.id}`, headers: { traceparent: TRACEPARENT, tracestate: 'vendor=abc,other=1' } })
  t.equal(response.statusCode, 200)
  t.match(simulator.requests[0]?.headers, { traceparent: TRACEPARENT, tracestate: 'vendor=abc,other=1' })
  t.equal(trace.getActiveSpan(), undefined, 'no tracer provider, no context manager')
  t.same(propagation.fields(), [], 'no propagator')
})

t.test('a malformed traceparent is not passed on, nor its tracestate', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url)
  const malformed = ['0af7651916cd43dd8448eb211c80319c', '00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01', `${TRACEPARENT}-extra`, `${TRACEPARENT}, ${TRACEPARENT}`, '00-xyz-b7ad6b7169203331-01']
  for (const traceparent of malformed) {
    // One computation each: polls of one are shared, and a finished one is answered from memory.
    const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
    t.equal((await proxy.inject({ method: 'GET', url: `/api/v1/computations/${computation.id}`, headers: { traceparent, tracestate: 'vendor=abc' } })).statusCode, 200)
  }
  t.equal(simulator.requests.length, malformed.length)
  t.notOk(simulator.requests.some((request) => request.headers.traceparent !== undefined || request.headers.tracestate !== undefined))
})

t.test('a tracestate without a traceparent is not passed on', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url)
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  await proxy.inject({ method: 'GET', url: `/api/v1/computations/${computation.id}`, headers: { tracestate: 'vendor=abc' } })
  t.equal(simulator.requests[0]?.headers.tracestate, undefined)
})
