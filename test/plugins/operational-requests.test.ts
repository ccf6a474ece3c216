// Operational requests (health probes, GET or HEAD, and the documentation: Swagger UI's pages and
// assets, the OpenAPI document) are not API calls: no caller is needed and nothing is audited,
// while the API calls around them are audited as ever.
import t from 'tap'
import { buildTestApp, type TestApp } from '../helpers/app.js'
import { startTestSimulator } from '../helpers/simulator.js'

/** Every asset a browser loads for the Swagger UI page at `page`, resolved against it. */
function assetsOf (page: string, html: string): string[] {
  const references = [...html.matchAll(/(?:href|src)="([^"]+)"/g)].map((match) => match[1] as string)
  return references.map((reference) => new URL(reference, `http://proxy${page}`).pathname)
}

/** Deletes a computation: its `received` record is committed before it is forwarded, and with it every record queued before. */
async function auditedDelete (proxy: TestApp, computationId: string): Promise<string> {
  const response = await proxy.inject({ method: 'DELETE', url: `/api/v1/computations/${computationId}` })
  return String(response.headers['audit-id'])
}

t.test('a visit to /docs, its assets and the OpenAPI document leave no audit record, and API calls still do', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url)
  const page = await proxy.inject({ method: 'GET', url: '/docs/' }, null)
  t.equal(page.statusCode, 200)
  t.equal(page.headers['audit-id'], undefined)
  const assets = assetsOf('/docs/', page.body)
  t.ok(assets.some((asset) => asset.endsWith('/swagger-ui-bundle.js')), 'the page loads Swagger UI\'s script')
  t.ok(assets.some((asset) => asset.endsWith('.css')), 'and its style sheets')
  for (const url of ['/docs', ...assets, '/docs/json', '/docs/yaml', '/openapi.json']) {
    const response = await proxy.inject({ method: 'GET', url }, null)
    t.equal(response.statusCode, 200, `${url} is served without a caller`)
    t.equal(response.headers['audit-id'], undefined, `${url} has no audit id`)
  }
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  const auditId = await auditedDelete(proxy, computation.id)
  t.same(proxy.log.auditLines().map((line) => [line.stage, line.action]), [['received', 'deleteComputation'], ['completed', 'deleteComputation']],
    'the only audit lines are the API call\'s')
  const stored = await proxy.store.queryAudit({ stage: 'received', limit: 100 })
  t.same(stored.map((row) => row.auditId), [auditId], 'and the only record stored before it is its own')
})

t.test('HEAD probes of /livez and /readyz are answered like GET and leave no audit record', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url)
  for (const url of ['/livez', '/readyz']) {
    const response = await proxy.inject({ method: 'HEAD', url }, null)
    t.equal(response.statusCode, 200, `HEAD ${url}`)
    t.equal(response.body, '', 'with no body')
    t.match(response.headers['content-type'], /^application\/json/, 'and GET\'s headers')
    t.equal(response.headers['audit-id'], undefined, 'and no audit id')
  }
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  const auditId = await auditedDelete(proxy, computation.id)
  t.same(proxy.log.auditLines().map((line) => line.method), ['DELETE', 'DELETE'], 'the only audit lines are the API call\'s')
  t.same((await proxy.store.queryAudit({ stage: 'received', limit: 100 })).map((row) => row.auditId), [auditId])
  t.equal(simulator.requests.filter((request) => request.method !== 'DELETE').length, 0, 'and Code Ocean saw only the API call')
})

t.test('HEAD stays closed elsewhere: HEAD /metrics is an unknown route, audited as one', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url)
  const response = await proxy.inject({ method: 'HEAD', url: '/metrics' })
  t.equal(response.statusCode, 404)
  t.match(proxy.log.audits(), [{ method: 'HEAD', route: null, status: 404, errorCode: 'PROXY_ROUTE_NOT_FOUND' }])
})

t.test('Swagger UI answers a browser\'s revalidation with 304, and a URL it does not serve is an unknown route, audited as one', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url)
  const script = await proxy.inject({ method: 'GET', url: '/docs/static/swagger-ui-bundle.js' }, null)
  t.equal(script.statusCode, 200)
  t.match(script.headers['content-type'], /javascript/)
  t.equal(Number(script.headers['content-length']), script.rawPayload.length, 'its length is the body\'s')
  const etag = String(script.headers.etag)
  t.match(etag, /^(W\/)?"/, 'with a validator')
  const again = await proxy.inject({ method: 'GET', url: '/docs/static/swagger-ui-bundle.js', headers: { 'if-none-match': etag } }, null)
  t.equal(again.statusCode, 304, 'unchanged: not sent again')
  t.equal(again.body, '')
  t.equal(again.headers['x-request-id'] !== undefined, true, 'the proxy\'s own headers are on Swagger UI\'s answers')

  const missing = await proxy.inject({ method: 'GET', url: '/docs/static/no-such-file.js' }, null)
  t.equal(missing.statusCode, 404, 'a file Swagger UI does not have')
  t.equal(missing.json().code, 'PROXY_ROUTE_NOT_FOUND', 'gets the proxy\'s own 404')
  t.equal(missing.headers['audit-id'], undefined, 'and is no API call')
  for (const url of ['/docs/json/', '//docs//json']) {
    t.equal((await proxy.inject({ method: 'GET', url }, null)).statusCode, 200, `${url}: Swagger UI matches URLs as the app does`)
  }
  const refused = await proxy.inject({ method: 'GET', url: '/docs/static/%00' }, null)
  t.equal(refused.statusCode, 400)
  t.match(refused.json(), { code: 'PROXY_BAD_REQUEST', requestId: String }, 'what Swagger UI refuses gets the proxy\'s own answer')
  const unknown = await proxy.inject({ method: 'GET', url: '/docs/elsewhere' }, null)
  t.equal(unknown.statusCode, 404)
  t.type(unknown.json().message, 'string')
  t.match(proxy.log.audits(), [{ method: 'GET', route: null, status: 404 }], 'a URL outside Swagger UI\'s is audited like any unknown route')
})
