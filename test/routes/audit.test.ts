// GET /audit/events: the trail, filtered and paged, for holders of the audit admin key and
// callers the policy grants audit:read.
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { AuditTrail } from '../../src/audit/trail.js'
import { openSqliteDatabase } from '../../src/store/sqlite-database.js'
import { buildTestApp, type TestApp } from '../helpers/app.js'
import { createLogSink } from '../helpers/log-sink.js'
import { TEST_CHAIN_KEY, TEST_TOKEN } from '../helpers/secrets.js'
import { startTestSimulator } from '../helpers/simulator.js'
import { forEachStore } from '../helpers/stores.js'

const ADMIN_KEY = 'audit-admin-key-0123456789'
const asAdmin = { authorization: `Bearer ${ADMIN_KEY}` }

interface Page { events: Array<Record<string, unknown> & { auditId: string, stage: string, action: string | null }>, next_cursor: string | null }

async function page (proxy: TestApp, query: string): Promise<Page> {
  const response = await proxy.inject({ method: 'GET', url: `/audit/events?${query}`, headers: asAdmin })
  if (response.statusCode !== 200) throw new Error(`${response.statusCode} ${response.body}`)
  return response.json()
}

t.test('queries are off unless AUDIT_ADMIN_KEY is set, and need that key', async (t) => {
  const simulator = await startTestSimulator(t)
  const disabled = await buildTestApp(t, simulator.url)
  const off = await disabled.inject({ method: 'GET', url: '/audit/events', headers: asAdmin }, null)
  t.equal(off.statusCode, 403)
  t.equal(off.json().code, 'PROXY_AUDIT_QUERIES_DISABLED')

  const enabled = await buildTestApp(t, simulator.url, { AUDIT_ADMIN_KEY: ADMIN_KEY })
  for (const headers of [{}, { authorization: 'Bearer wrong-key-0123456789' }, { authorization: `Basic ${Buffer.from(`${ADMIN_KEY}:`).toString('base64')}` }]) {
    const denied = await enabled.inject({ method: 'GET', url: '/audit/events', headers }, null)
    t.equal(denied.statusCode, 401)
    t.equal(denied.json().code, 'PROXY_AUDIT_KEY_REQUIRED')
    t.match(denied.headers['www-authenticate'], /Bearer realm=/)
  }
  t.match(enabled.log.audits().at(-1), { action: 'listAuditEvents', status: 401, decision: { outcome: 'deny' } }, 'denied queries are audited')
})

t.test('under the worked policy, a caller who may read every computation but not the trail gets 403; an auditor may query it', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, { POLICY_FILE: fileURLToPath(new URL('../fixtures/two-teams-policy.yaml', import.meta.url)) })
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis, state: 'completed' })
  const teamA = { 'x-forwarded-user': 'ann@example.com', 'x-forwarded-groups': 'team-a' }
  const auditor = { 'x-forwarded-user': 'audrey@example.com', 'x-forwarded-groups': 'auditors' }
  t.equal((await proxy.inject({ method: 'GET', url: `/api/v1/computations/${computation.id}` }, auditor)).statusCode, 200, 'the auditor reads any computation')
  const refused = await proxy.inject({ method: 'GET', url: '/audit/events' }, teamA)
  t.equal(refused.statusCode, 403)
  t.equal(refused.json().code, 'PROXY_FORBIDDEN')
  t.match(proxy.log.audits().at(-1), { action: 'listAuditEvents', actor: { subject: 'ann@example.com' }, decision: { outcome: 'deny', reason: 'no rule grants audit:read' } })
  const granted = await proxy.inject({ method: 'GET', url: '/audit/events' }, auditor)
  t.equal(granted.statusCode, 200)
  t.match(proxy.log.audits().at(-1), { action: 'listAuditEvents', actor: { subject: 'audrey@example.com' }, decision: { outcome: 'allow' } })
})

t.test('a caller the policy grants audit:read needs no admin key; one it does not gets 403', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url)
  const granted = await proxy.inject({ method: 'GET', url: '/audit/events' })
  t.equal(granted.statusCode, 200, 'the default test caller is an admin, and admin includes audit:read')
  t.match(proxy.log.audits().at(-1), { actor: { subject: 'tester@example.com' }, decision: { outcome: 'allow', reason: 'audit:read granted by rule "proxy test admins"' } })
  const refused = await proxy.inject({ method: 'GET', url: '/audit/events' }, { 'x-forwarded-user': 'bob@example.com' })
  t.equal(refused.statusCode, 403)
  t.equal(refused.json().code, 'PROXY_FORBIDDEN')
  t.match(refused.json().message, /audit:read/)
  t.match(proxy.log.audits().at(-1), { actor: { subject: 'bob@example.com' }, decision: { outcome: 'deny', reason: 'no rule grants audit:read' } })
})

forEachStore(t, 'records are filtered and paged, oldest first', async (t, stores) => {
  const store = await stores.open()
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, { AUDIT_ADMIN_KEY: ADMIN_KEY }, { store })
  const run = await proxy.inject({ method: 'POST', url: '/api/v1/computations', payload: { capsule_id: simulator.capsules.analysis, parameters: ['secret-value'] } })
  const id = run.json().id as string
  await proxy.inject({ method: 'GET', url: `/api/v1/computations/${id}` })
  await proxy.inject({ method: 'GET', url: '/api/v1/computations/not-a-uuid' })
  // Queries below look only before this moment: later records (the delete's completion, the
  // queries' own records) are written in the background and would make answers depend on timing.
  await new Promise((resolve) => setTimeout(resolve, 5))
  const until = new Date().toISOString()
  await new Promise((resolve) => setTimeout(resolve, 5))
  // A mutating call commits every record queued before its own received record.
  await proxy.inject({ method: 'DELETE', url: `/api/v1/computations/${id}` })
  const within = `until=${until}`

  const deletes = await page(proxy, 'action=deleteComputation&stage=received')
  t.same(deletes.events.map((event) => event.action), ['deleteComputation'], 'the delete\'s received record is committed')
  const completed = await page(proxy, `stage=completed&${within}`)
  t.same(completed.events.map((event) => event.action), ['runCapsule', 'getComputation', 'getComputation'])
  const aboutRun = await page(proxy, `computation_id=${id}&stage=completed&${within}`)
  t.same(aboutRun.events.map((event) => event.action), ['runCapsule', 'getComputation'], 'found by computation id, the run that made it included')
  t.same((await page(proxy, `pipeline_id=${simulator.pipelines.main}`)).events, [], 'no pipeline was run')
  const byCapsule = await page(proxy, `capsule_id=${simulator.capsules.analysis}&${within}`)
  t.same(byCapsule.events.map((event) => [event.action, event.stage]), [['runCapsule', 'received'], ['runCapsule', 'completed']], 'both of the run\'s records name its capsule')
  const failures = await page(proxy, `outcome=client_error&${within}`)
  t.same(failures.events.map((event) => event.status), [400])
  t.same((await page(proxy, `outcome=server_error&${within}`)).events, [])
  t.equal((await page(proxy, `outcome=success&${within}`)).events.length, 2)
  t.same((await page(proxy, 'since=2000-01-01T00:00:00Z&until=2000-01-02T00:00:00Z')).events, [])
  t.equal((await page(proxy, `actor=tester%40example.com&${within}`)).events.length, 4, 'found by who called')
  t.same((await page(proxy, `actor=nobody&${within}`)).events, [])

  // Page through the window two at a time: each record once, in order, then a null cursor.
  const everything = await page(proxy, `limit=1000&${within}`)
  t.equal(everything.events.length, 4, 'three requests: the run in two records, each read in one')
  const seen: string[] = []
  let cursor: string | null = ''
  for (let pages = 0; cursor !== null && pages < 50; pages++) {
    const next: Page = await page(proxy, `limit=2&${within}${cursor === '' ? '' : `&cursor=${cursor}`}`)
    seen.push(...next.events.map((event) => `${event.auditId}/${event.stage}`))
    cursor = next.next_cursor
  }
  t.same(seen, everything.events.map((event) => `${event.auditId}/${event.stage}`))
  t.equal(cursor, null, 'the last page says so')
  t.type(everything.events[0]?.hash, 'string', 'each event carries its chain hash')

  const body = JSON.stringify(everything)
  t.notOk(body.includes('secret-value') || body.includes(TEST_TOKEN), 'no parameter value or token in the answer')
})

t.test('a bad query is a 400 and a store that cannot be read is a 503', async (t) => {
  const simulator = await startTestSimulator(t)
  const store = openSqliteDatabase(':memory:')
  const proxy = await buildTestApp(t, simulator.url, { AUDIT_ADMIN_KEY: ADMIN_KEY }, { store })
  for (const query of ['limit=0', 'limit=1001', 'outcome=meh', 'since=yesterday', 'computation_id=x', 'cursor=not-a-cursor', 'colour=red']) {
    const response = await proxy.inject({ method: 'GET', url: `/audit/events?${query}`, headers: asAdmin })
    t.equal(response.statusCode, 400, query)
    t.equal(response.json().code, 'PROXY_INVALID_REQUEST', query)
  }
  await store.close()
  const down = await proxy.inject({ method: 'GET', url: '/audit/events', headers: asAdmin })
  t.equal(down.statusCode, 503)
  t.equal(down.json().code, 'PROXY_AUDIT_UNAVAILABLE')
})

t.test('ids are kept in lower case, so a call made with an upper-case id is found; runs are found by the run they resume', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, { AUDIT_ADMIN_KEY: ADMIN_KEY })
  const { id } = simulator.addComputation({ capsule_id: simulator.capsules.analysis, state: 'completed' })
  // Forwarded as typed (the simulator, unlike its ids, is case-sensitive: 404); audited in lower case.
  await proxy.inject({ method: 'GET', url: `/api/v1/computations/${id.toUpperCase()}` })
  // A run commits every record queued before its own received record.
  await proxy.inject({ method: 'POST', url: '/api/v1/computations', payload: { capsule_id: simulator.capsules.analysis.toUpperCase(), resume_run_id: id.toUpperCase() } })
  const read = await page(proxy, `computation_id=${id}&stage=completed&action=getComputation`)
  t.match(read.events, [{ action: 'getComputation', resource: { computation_id: id } }], 'the read, by its id in lower case')
  // Its ids are read from the validated body, so they are in its completed record, which the
  // next change commits.
  await proxy.inject({ method: 'DELETE', url: `/api/v1/computations/${id}` })
  const resumed = await page(proxy, `resume_run_id=${id.toUpperCase()}&stage=completed`)
  t.match(resumed.events, [{ action: 'runCapsule', resource: { resume_run_id: id, capsule_id: simulator.capsules.analysis } }], 'the run that resumes it, whatever case either was asked in')
})

t.test('the audit admin key is audited as its own caller, and reaches no Code Ocean route', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, { AUDIT_ADMIN_KEY: ADMIN_KEY })
  const search = await proxy.inject({ method: 'GET', url: '/audit/events', headers: asAdmin }, null)
  t.equal(search.statusCode, 200)
  t.match(proxy.log.audits().at(-1), { action: 'listAuditEvents', actor: { subject: 'audit admin key', method: 'admin-key' }, decision: { outcome: 'allow', reason: 'audit admin key' } })
  const { id } = simulator.addComputation({ capsule_id: simulator.capsules.analysis, state: 'completed' })
  const before = simulator.requests.length
  for (const url of [`/api/v1/computations/${id}`, `/api/v1/capsules/${simulator.capsules.analysis}/computations`]) {
    const refused = await proxy.inject({ method: 'GET', url, headers: asAdmin }, null)
    t.equal(refused.statusCode, 401, url)
    t.equal(refused.json().code, 'PROXY_UNAUTHENTICATED', 'read as a service key, which it is not')
  }
  t.equal(simulator.requests.length, before, 'nothing was forwarded')
  t.match(proxy.log.audits().at(-1), { actor: null, decision: { outcome: 'deny' } })
})

t.test('a page holds at most limit records, a short page ends the walk, since bounds it below, and a cursor must be one the proxy made', async (t) => {
  const simulator = await startTestSimulator(t)
  const store = openSqliteDatabase(':memory:')
  t.teardown(() => store.close())
  // Five records an hour apart in 2020; the queries' own records, made now, fall outside `until`.
  let clock = Date.parse('2020-01-01T00:00:00.000Z')
  const trail = new AuditTrail({ store, log: createLogSink().logger, chainKey: TEST_CHAIN_KEY, instanceId: 'seeded', now: () => { const at = clock; clock += 3_600_000; return at } })
  for (let n = 0; n < 5; n++) trail.append('received', `seeded-${n}`, { n })
  await trail.close()
  const proxy = await buildTestApp(t, simulator.url, { AUDIT_ADMIN_KEY: ADMIN_KEY }, { store })
  const within = 'until=2021-01-01T00:00:00Z'
  const numbers = (events: Page['events']): unknown[] => events.map((event) => event.n)

  t.same(numbers((await page(proxy, `limit=2&${within}`)).events), [0, 1])
  const first = await page(proxy, `limit=3&${within}`)
  t.same(numbers(first.events), [0, 1, 2])
  t.type(first.next_cursor, 'string', 'a full page has a next one')
  const second = await page(proxy, `limit=3&${within}&cursor=${first.next_cursor ?? ''}`)
  t.same(numbers(second.events), [3, 4], 'the next page starts after the last record of the first')
  t.equal(second.next_cursor, null, 'a short page is the last')
  t.same(numbers((await page(proxy, `since=2020-01-01T02:30:00Z&${within}`)).events), [3, 4])

  const forged = [['2020-01-01T00:00:00.000Z', 'seeded', 1.5], [1, 'seeded', 1], ['2020-01-01T00:00:00.000Z', 2, 1]]
  for (const cursor of forged) {
    const encoded = Buffer.from(JSON.stringify(cursor)).toString('base64url')
    const response = await proxy.inject({ method: 'GET', url: `/audit/events?${within}&cursor=${encoded}`, headers: asAdmin })
    t.equal(response.statusCode, 400, JSON.stringify(cursor))
    t.equal(response.json().code, 'PROXY_INVALID_REQUEST', JSON.stringify(cursor))
  }
})
