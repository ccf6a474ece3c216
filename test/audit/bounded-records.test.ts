// Whatever a request carries, what it adds to the log and to the audit trail stays small: lists
// past their bounds are refused before anything is expanded, and a run with many parameters is
// audited with one digest over them rather than one HMAC per value.
import { createHmac } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { LIST_LIMITS } from '../../schemas/computations.js'
import { canonicalJson } from '../../src/canonical-json.js'
import type { AuditRow } from '../../src/store/store.js'
import { buildTestApp, type TestApp } from '../helpers/app.js'
import { TEST_HMAC_KEY } from '../helpers/secrets.js'
import { startTestSimulator } from '../helpers/simulator.js'

const JSON_TYPE = { 'content-type': 'application/json' }
const BODY_LIMIT = 1_048_576
const BOUND = 100 * 1024
const TWO_TEAMS_POLICY = fileURLToPath(new URL('../fixtures/two-teams-policy.yaml', import.meta.url))
const TEAM_A_CAPSULE = 'aaaaaaaa-0000-4000-8000-000000000001'
const TEAM_B = { 'x-forwarded-user': 'bob@example.com', 'x-forwarded-groups': 'team-b' }

/** The trail's rows of one request, once `count` of them are stored. */
async function storedRows (proxy: TestApp, auditId: string, count = 2): Promise<AuditRow[]> {
  let rows: AuditRow[] = []
  for (let wait = 0; wait < 200 && rows.length < count; wait++) {
    rows = (await proxy.store.queryAudit({ limit: 1000 })).filter((row) => row.auditId === auditId)
    if (rows.length < count) await new Promise((resolve) => setTimeout(resolve, 10))
  }
  return rows
}

/** Every log line about one request, raw. */
function logLinesOf (proxy: TestApp, requestId: string): string[] {
  return proxy.log.text().split('\n').filter((line) => line.includes(`"${requestId}"`))
}

/** A run body of just under BODY_LIMIT bytes: as many empty parameters as fit. */
function megabyteOfParameters (capsuleId: string): string {
  const head = `{"capsule_id":"${capsuleId}","parameters":[`
  const count = Math.floor((BODY_LIMIT - head.length - 2) / 3)
  return `${head}${Array(count).fill('""').join(',')}]}`
}

t.test('a 1 MB list of parameters is refused with 400 and adds under 100 KB to the log and to the store', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url)
  const payload = megabyteOfParameters(simulator.capsules.analysis)
  t.ok(payload.length > 0.99 * BODY_LIMIT && payload.length <= BODY_LIMIT, 'the body is 1 MB, within the body limit')
  const response = await proxy.inject({ method: 'POST', url: '/api/v1/computations', payload, headers: { ...JSON_TYPE, 'x-request-id': 'megabyte-run' } })
  t.equal(response.statusCode, 400)
  t.equal(response.json().code, 'PROXY_INVALID_REQUEST')
  t.match(response.json().message, `body/parameters must NOT have more than ${LIST_LIMITS.parameters} items`)
  t.equal(simulator.requests.length, 0, 'nothing reached Code Ocean')

  const logged = logLinesOf(proxy, 'megabyte-run')
  t.equal(logged.length, 1, 'its completed line was logged (an invalid run gets no received record)')
  t.ok(logged.join('\n').length < BOUND, `the log grew by ${logged.join('\n').length} bytes`)
  const rows = await storedRows(proxy, String(response.headers['audit-id']))
  t.equal(rows.length, 1, 'and its completed record stored')
  const stored = rows.reduce((sum, row) => sum + JSON.stringify(row).length, 0)
  t.ok(stored < BOUND, `the store grew by ${stored} bytes`)
})

/** A run body with `count` ordered and `count` named parameters, of realistic lengths. */
function manyParameters (capsuleId: string, count: number, change?: (body: { parameters: string[], named_parameters: Array<{ param_name: string, value: string }> }) => void): Record<string, unknown> {
  const body = {
    capsule_id: capsuleId,
    parameters: Array.from({ length: count }, (_, index) => `value ${index} `.padEnd(200, 'x')),
    named_parameters: Array.from({ length: count }, (_, index) => ({ param_name: `parameter_${index}`.padEnd(100, 'p'), value: `named ${index}`.padEnd(200, 'y') }))
  }
  change?.(body)
  return body
}

t.test('a run with many allowed parameters is audited with one digest over them, which changes with any value', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url)
  const count = LIST_LIMITS.parameters
  const bodies = {
    first: manyParameters(simulator.capsules.analysis, count),
    same: manyParameters(simulator.capsules.analysis, count),
    lastValue: manyParameters(simulator.capsules.analysis, count, (body) => { body.parameters[count - 1] += '!' }),
    namedValue: manyParameters(simulator.capsules.analysis, count, (body) => { (body.named_parameters[7] as { value: string }).value = 'other' }),
    parameterName: manyParameters(simulator.capsules.analysis, count, (body) => { (body.named_parameters[0] as { param_name: string }).param_name = 'renamed' })
  }
  const digests: Record<string, { count: number, hmac: string }> = {}
  for (const [name, body] of Object.entries(bodies)) {
    const payload = JSON.stringify(body)
    t.ok(payload.length > 500_000, `${name}: a body of ${payload.length} bytes`)
    const response = await proxy.inject({ method: 'POST', url: '/api/v1/computations', payload, headers: { ...JSON_TYPE, 'x-request-id': `many-${name}` } })
    t.equal(response.statusCode, 200, `${name}: run`)
    const record = proxy.log.audits().find((audit) => audit.requestId === `many-${name}`)
    t.same(Object.keys(record?.sensitive ?? {}), ['parametersDigest'], `${name}: one digest, no HMAC per value`)
    t.ok(JSON.stringify(record).length < 2048, `${name}: a completed record of ${JSON.stringify(record).length} bytes`)
    t.ok(logLinesOf(proxy, `many-${name}`).join('\n').length < 4096, `${name}: small log lines`)
    digests[name] = record?.sensitive.parametersDigest as { count: number, hmac: string }
  }
  t.equal(digests.first?.count, 2 * count, 'the digest counts every value')
  const expected = createHmac('sha256', Buffer.from(TEST_HMAC_KEY)).update(canonicalJson({ ...bodies.first, capsule_id: undefined, processes: null })).digest('hex')
  t.equal(digests.first?.hmac, expected, 'an investigator holding the parameters can rebuild the digest')
  t.equal(digests.same?.hmac, digests.first?.hmac, 'the same parameters give the same digest')
  for (const changed of ['lastValue', 'namedValue', 'parameterName']) {
    t.not(digests[changed]?.hmac, digests.first?.hmac, `${changed}: a changed parameter changes the digest`)
  }
})

t.test('a run the policy refuses gets a bounded record, and its received record expands nothing', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, { POLICY_FILE: TWO_TEAMS_POLICY })
  const payload = JSON.stringify(manyParameters(TEAM_A_CAPSULE, LIST_LIMITS.parameters))
  const response = await proxy.inject({ method: 'POST', url: '/api/v1/computations', payload, headers: { ...JSON_TYPE, 'x-request-id': 'refused-many' } }, TEAM_B)
  t.equal(response.statusCode, 403)
  t.equal(simulator.requests.length, 0, 'nothing reached Code Ocean')
  const [received, completed] = proxy.log.auditLines().filter((audit) => audit.requestId === 'refused-many')
  t.notOk(received !== undefined && 'sensitive' in received, 'the received record, written before the decision, expands nothing')
  t.match(completed, { stage: 'completed', status: 403, decision: { outcome: 'deny' }, sensitive: { parametersDigest: { count: 2 * LIST_LIMITS.parameters } } })
  t.ok(logLinesOf(proxy, 'refused-many').join('\n').length < 4096, 'its log lines are small')
})

t.test('a read, a request that proves no one and one that names no route are audited with one small completed record; a mutation with two', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url)
  const url = `/api/v1/computations/${simulator.addComputation({ capsule_id: simulator.capsules.analysis }).id}`
  const requests = [
    { id: 'forged-key', url, headers: { authorization: `Bearer cpx_0123456789abcdef_${'A'.repeat(43)}` }, caller: null, status: 401 },
    { id: 'no-credential', url, headers: {}, caller: null, status: 401 },
    { id: 'unknown-url', url: '/api/v1/nowhere', headers: {}, caller: null, status: 404 },
    { id: 'proven-read', url, headers: {}, caller: undefined, status: 200 }
  ]
  for (const request of requests) {
    const response = await proxy.inject({ method: 'GET', url: request.url, headers: { ...request.headers, 'x-request-id': request.id } }, request.caller)
    t.equal(response.statusCode, request.status, request.id)
    const records = proxy.log.auditLines().filter((audit) => audit.requestId === request.id)
    const stored = await storedRows(proxy, String(response.headers['audit-id']), 1)

    t.same(records.map((audit) => audit.stage), ['completed'], `${request.id}: the completed record only, in the log`)
    // The trail is written in order: a received record would be stored no later than this one.
    t.same(stored.map((row) => row.stage), ['completed'], 'and in the trail')
    t.match(records[0], { status: request.status, actor: request.caller === null ? null : { subject: 'tester@example.com' }, sensitive: {}, receivedAt: /^\d{4}-\d\d-\d\dT/ })
    t.ok(logLinesOf(proxy, request.id).join('\n').length < 2048, `${request.id}: under 2 KB of log`)
  }
  t.equal(simulator.requests.length, 1, 'only the proven caller\'s request was forwarded')
  const run = await proxy.inject({ method: 'POST', url: '/api/v1/computations', payload: { capsule_id: simulator.capsules.analysis }, headers: { 'x-request-id': 'proven-run' } })
  t.equal(run.statusCode, 200)
  t.same(proxy.log.auditLines().filter((audit) => audit.requestId === 'proven-run').map((audit) => audit.stage), ['received', 'completed'], 'a mutation: both stages, the first committed before it was forwarded')
  t.same((await storedRows(proxy, String(run.headers['audit-id']), 2)).map((row) => row.stage), ['received', 'completed'])
})
