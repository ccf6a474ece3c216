// Closing under load: in-flight requests finish and are audited, their answers tell the
// client not to reuse the connection, and close does not wait out keep-alive.
import { once } from 'node:events'
import { connect } from 'node:net'
import t from 'tap'
import { Pool } from 'undici'
import { buildTestApp, DEFAULT_CALLER } from './helpers/app.js'
import { startTestSimulator } from './helpers/simulator.js'

t.test('in-flight requests finish and close does not wait for kept-alive connections', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url)
  const address = await proxy.app.listen({ host: '127.0.0.1', port: 0 })
  const client = new Pool(address, { connections: 4, keepAliveTimeout: 60_000 })
  const idle = new Pool(address, { connections: 1, keepAliveTimeout: 60_000 })
  t.teardown(async () => { await client.close(); await idle.close() })

  // A kept-alive connection that is idle when close begins, and three requests still waiting on a slow Code Ocean.
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  const warm = await idle.request({ path: `/api/v1/computations/${computation.id}`, method: 'GET', headers: DEFAULT_CALLER })
  await warm.body.dump()
  simulator.inject({ delayMs: 300 })
  // Three computations: identical polls of one would share a single upstream call.
  const polled = [computation, ...[1, 2].map(() => simulator.addComputation({ capsule_id: simulator.capsules.analysis }))]
  const inFlight = polled.map(async ({ id }) => {
    const response = await client.request({ path: `/api/v1/computations/${id}`, method: 'GET', headers: DEFAULT_CALLER })
    return { status: response.statusCode, connection: response.headers.connection, body: await response.body.json() as { id: string }, id }
  })
  for (let wait = 0; wait < 200 && simulator.requests.length < 4; wait++) await new Promise((resolve) => setTimeout(resolve, 5))

  // Without the idle sweep, close would wait out the idle connection's keep-alive (72 s).
  const closed = proxy.app.close().then(() => 'closed')
  const outcome = await Promise.race([closed, new Promise((resolve) => setTimeout(() => resolve('still waiting'), 10_000))])
  t.equal(outcome, 'closed', 'close returned once the in-flight requests were done')
  const answers = await Promise.all(inFlight)
  t.same(answers.map((answer) => answer.status), [200, 200, 200], 'every in-flight request completed')
  t.ok(answers.every((answer) => answer.body.id === answer.id))
  t.ok(answers.every((answer) => answer.connection === 'close'), 'and told the client not to reuse the connection')
  t.equal(proxy.log.audits().filter((audit) => audit.status === 200).length, 4, 'every call is audited')
})

t.test('close does not wait for connections opened ahead of need that never sent a request', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url)
  const address = new URL(await proxy.app.listen({ host: '127.0.0.1', port: 0 }))
  // As undici opens one as soon as a connection it used closes, and load balancers keep spares.
  const spare = connect(Number(address.port), '127.0.0.1')
  spare.on('error', () => {})
  await once(spare, 'connect')
  const ended = once(spare, 'close')

  const closed = proxy.app.close().then(() => 'closed')
  const outcome = await Promise.race([closed, new Promise((resolve) => setTimeout(() => resolve('still waiting'), 5_000))])
  t.equal(outcome, 'closed', 'close returned: the spare connection did not hold it')
  await ended
  t.pass('and the spare connection was closed')
})
