// The conformance check that every suite response goes through (test/helpers/app.ts) does
// catch a Code Ocean answer that breaks the document, and an undocumented status.
import t from 'tap'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { openSqliteDatabase } from '../src/store/sqlite-database.js'
import { conformanceProblems } from './helpers/openapi-conformance.js'
import { createLogSink } from './helpers/log-sink.js'
import { DEFAULT_TEST_ENV, DEFAULT_CALLER } from './helpers/app.js'
import { TEST_TOKEN } from './helpers/secrets.js'
import { startTestSimulator } from './helpers/simulator.js'

t.test('a field of the wrong type in a real answer is reported', async (t) => {
  const simulator = await startTestSimulator(t, { extraFields: { created: 'yesterday', state: 'queued' } })
  // The unchecked app: this test looks at the problems itself.
  const app = await buildApp({
    config: loadConfig({ CODEOCEAN_DOMAIN: simulator.url, CODEOCEAN_TOKEN: TEST_TOKEN, AUDIT_DB_PATH: ':memory:', ...DEFAULT_TEST_ENV }),
    logger: createLogSink().logger,
    store: openSqliteDatabase(':memory:')
  })
  t.teardown(() => app.close())
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  const url = `/api/v1/computations/${computation.id}`
  const response = await app.inject({ method: 'GET', url, headers: DEFAULT_CALLER })
  t.equal(response.statusCode, 200, 'the proxy passes it through unchanged, as it must')
  const problems = conformanceProblems('GET', url, response.statusCode, response.headers['content-type'] as string, response.body)
  t.match(problems, [/\/created must be number/], 'but the document check names the field')
  t.ok(problems?.some((problem) => problem.includes('/state')), 'and the unknown state')
})

t.test('an undocumented status is reported; unknown paths are not checked', async (t) => {
  t.match(conformanceProblems('GET', '/api/v1/computations/x', 418, 'application/json', '{}'), [/answered 418, which is not documented/])
  t.match(conformanceProblems('DELETE', '/api/v1/computations/x', 204, undefined, 'surprise'), [/without a body but one was sent/])
  t.same(conformanceProblems('DELETE', '/api/v1/computations/x/data_assets', 204, undefined, ''), [], 'the trailing slash is optional')
  t.same(conformanceProblems('GET', '/api/v1/computations/x', 502, 'text/html', '<html>'), [], 'non-JSON bodies are not schema-checked')
  t.equal(conformanceProblems('GET', '/docs', 200, 'text/html', ''), undefined)
})
