// The OpenAPI document: committed, current, served, and complete enough to generate clients from.
import { readFile } from 'node:fs/promises'
import t from 'tap'
import { securityFor, securitySchemesOf } from '../src/identity/sources.js'
import { OPENAPI_PATH, OPENAPI_TYPES_PATH, renderOpenApiDocument, renderOpenApiTypes } from '../src/openapi-document.js'
import { buildTestApp } from './helpers/app.js'
import { startTestSimulator } from './helpers/simulator.js'

interface Operation { operationId?: string, summary?: string, tags?: string[], deprecated?: boolean, responses: Record<string, unknown> }
type Document = { openapi: string, paths: Record<string, Record<string, Operation>>, components: { schemas: Record<string, unknown> } }

const SDK_OPERATIONS = [
  'runCapsule', 'getComputation', 'renameComputation', 'deleteComputation', 'listComputationResults',
  'getResultFileUrls', 'getResultFileDownloadUrl', 'attachComputationDataAssets', 'detachComputationDataAssets',
  'listCapsuleComputations', 'listPipelineComputations'
]

t.test('the committed document is what the routes generate (run `npm run openapi` after changing them)', async (t) => {
  const committed = await readFile(OPENAPI_PATH, 'utf8')
  t.equal(committed, await renderOpenApiDocument())
  t.equal(await readFile(OPENAPI_TYPES_PATH, 'utf8'), await renderOpenApiTypes(committed), 'and so are the generated types')
})

t.test('every operation is named after the SDK method, summarised, tagged and has its error responses', async (t) => {
  const document = JSON.parse(await readFile(OPENAPI_PATH, 'utf8')) as Document
  t.match(document.openapi, /^3\.1\./)
  const operations = Object.entries(document.paths).flatMap(([path, methods]) => Object.values(methods).map((operation) => ({ path, operation })))
  const mirrored = operations.filter(({ path }) => path.startsWith('/api/v1/')).map(({ operation }) => operation)
  t.same(mirrored.map((operation) => operation.operationId).sort(), [...SDK_OPERATIONS].sort(), 'the mirror is exactly the SDK\'s operations')
  t.same(operations.filter(({ path }) => !path.startsWith('/api/v1/')).map(({ operation }) => operation.operationId).sort(),
    ['getLiveness', 'getMetrics', 'getReadiness', 'listAuditEvents', 'waitForComputation'], 'extensions and operations endpoints live outside /api/v1')
  for (const { operation } of operations) {
    t.ok(operation.summary, `${operation.operationId} has a summary`)
    t.ok(operation.tags?.length, `${operation.operationId} has tags`)
  }
  for (const operation of mirrored) {
    for (const status of ['400', '404', '502', '503', '504']) {
      t.ok(operation.responses[status], `${operation.operationId} documents ${status}`)
    }
  }
  t.ok(document.paths['/api/v1/computations/{computation_id}/results/download_url']?.get?.deprecated, 'the old download URL is deprecated')
  for (const name of ['Computation', 'RunParams', 'Folder', 'FileURLs', 'Error']) {
    t.ok(document.components.schemas[name], `component ${name} is named`)
  }
  t.notOk(Object.keys(document.components.schemas).some((name) => name.startsWith('def-') || name === 'undefined'), 'no anonymous components')
})

t.test('the service serves the document at /openapi.json and Swagger UI at /docs', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url)
  const document = await proxy.inject({ method: 'GET', url: '/openapi.json' })
  t.equal(document.statusCode, 200)
  t.equal(`${JSON.stringify(document.json(), null, 2)}\n`, await readFile(OPENAPI_PATH, 'utf8'))
  const docs = await proxy.inject({ method: 'GET', url: '/docs/' })
  t.equal(docs.statusCode, 200)
  t.match(docs.body, /swagger/i)
  t.equal(proxy.log.auditLines().length, 0, 'reading the documentation is not an API call: not audited (see test/plugins/operational-requests.test.ts)')
  t.equal(simulator.requests.length, 0)
})

t.test('the security schemes and each operation\'s requirement come from the identity sources\' list', async (t) => {
  const document = JSON.parse(await readFile(OPENAPI_PATH, 'utf8')) as Document & { security: unknown, components: { securitySchemes: unknown } }
  t.same(document.components.securitySchemes, securitySchemesOf({}))
  t.same(document.security, securityFor(undefined), 'every operation, unless it says otherwise')
  t.same((document.paths['/audit/events']?.get as { security?: unknown } | undefined)?.security, securityFor('audit:read'), 'the audit trail adds the admin key')
  const others = Object.values(document.paths).flatMap((methods) => Object.values(methods) as Array<Operation & { security?: unknown[] }>)
    .filter((operation) => operation.operationId !== 'listAuditEvents' && operation.security?.length !== 0)
  t.same(others.filter((operation) => operation.security !== undefined).map((operation) => operation.operationId), [], 'no other operation lists its own')
})
