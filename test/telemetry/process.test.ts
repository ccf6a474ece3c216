// The process with an OTLP endpoint set: it traces calls (a caller's trace continued up to Code
// Ocean) and, spans being batched, sends the last ones when SIGTERM closes it.
import t from 'tap'
import { DEFAULT_ACCESS_ENV, DEFAULT_CALLER } from '../helpers/app.js'
import { startOtlpReceiver } from '../helpers/otlp-receiver.js'
import { TEST_TOKEN, secretForms } from '../helpers/secrets.js'
import { listeningAddress, startServer } from '../helpers/server-process.js'
import { startTestSimulator } from '../helpers/simulator.js'

t.test('with an OTLP endpoint the process traces calls, and sends the spans when SIGTERM closes it', async (t) => {
  const receiver = await startOtlpReceiver(t)
  const simulator = await startTestSimulator(t)
  const server = startServer({
    CODEOCEAN_DOMAIN: simulator.url,
    CODEOCEAN_TOKEN: TEST_TOKEN,
    PORT: '0',
    HOST: '127.0.0.1',
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_SERVICE_NAME: 'proxy-process',
    ...DEFAULT_ACCESS_ENV
  })
  const address = await listeningAddress(server)
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736'
  const headers = { ...DEFAULT_CALLER, traceparent: `00-${traceId}-00f067aa0ba902b7-01` }
  const response = await fetch(`${address}/api/v1/computations/${computation.id}`, { headers, signal: AbortSignal.timeout(5000) })
  t.equal(response.status, 200)
  t.equal(simulator.requests[0]?.headers.traceparent?.slice(0, 35), `00-${traceId}`, 'Code Ocean is sent the caller\'s trace')
  t.equal(receiver.spans.length, 0, 'spans are batched (every 5 s)')

  server.child.kill('SIGTERM')
  const [code] = await server.exited
  t.equal(code, 0)
  const spans = receiver.spans.filter((span) => span.traceId === traceId)
  t.match(spans.find((span) => span.kind === 2), { name: 'GET /api/v1/computations/:computation_id', resource: { 'service.name': 'proxy-process' } }, 'the request')
  t.ok(spans.some((span) => span.kind === 3), 'the call to Code Ocean')
  t.ok(spans.some((span) => span.name === 'policy'), 'the policy decision')
  for (const secret of secretForms(TEST_TOKEN)) t.notOk(receiver.bodies.join('').includes(secret), 'no secret in the spans')
})
