// Properties every mirrored route must have, proved for each route in test/helpers/mirrored-routes.ts
// (which must name exactly the routes the app serves), so a new route is covered by adding its row:
// only allowlisted Code Ocean headers reach the caller; the route needs its own policy action and
// no other; a mutation is never forwarded without its durable record; Code Ocean's 401 becomes
// 502; only a read is retried, and only a poll shared; confidential values are kept only as HMACs, in the trail and in the log.
import { randomUUID } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { stringify } from 'yaml'
import { hmacWith } from '../../src/audit/sensitive.js'
import { openSqliteDatabase } from '../../src/store/sqlite-database.js'
import { buildTestApp } from '../helpers/app.js'
import { MIRRORED_ROUTES, ROUTE_ACTIONS, type MirroredRoute, type RouteAction } from '../helpers/mirrored-routes.js'
import { TEST_HMAC_KEY } from '../helpers/secrets.js'
import { startTestSimulator } from '../helpers/simulator.js'

const routes = Object.entries(MIRRORED_ROUTES)

t.test('the table names exactly the routes served under /api/v1, by operationId, method and path', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url)
  await proxy.app.ready()
  const document = proxy.app.swagger() as unknown as { paths: Record<string, Record<string, { operationId: string }>> }
  const served: Record<string, string> = {}
  for (const [path, operations] of Object.entries(document.paths)) {
    if (!path.startsWith('/api/v1/')) continue
    for (const [method, operation] of Object.entries(operations)) served[operation.operationId] = `${method.toUpperCase()} ${path}`
  }
  t.same(served, Object.fromEntries(routes.map(([operationId, route]) => [operationId, `${route.method} ${route.path}`])))
})

/** Headers Code Ocean (or a proxy in front of it) might send that no caller may see. */
const UNEXPECTED_HEADERS: Readonly<Record<string, string>> = {
  'set-cookie': 'session=upstream',
  server: 'nginx/1.25.3',
  'x-powered-by': 'Express',
  via: '1.1 codeocean-edge',
  'x-codeocean-internal-route': 'worker-7',
  'access-control-allow-origin': '*',
  'strict-transport-security': 'max-age=63072000',
  'www-authenticate': 'Basic realm="codeocean"',
  link: '<https://codeocean.example.com/internal>; rel=preload',
  'x-amz-request-id': 'ABCDEF0123456789'
}

for (const [operationId, route] of routes) {
  t.test(`${operationId}: only allowlisted Code Ocean headers reach the caller`, async (t) => {
    const simulator = await startTestSimulator(t)
    const proxy = await buildTestApp(t, simulator.url)
    simulator.inject({ headers: { ...UNEXPECTED_HEADERS, etag: '"upstream-etag"', deprecation: 'true' } })
    const response = await proxy.inject(route.sample(simulator))
    t.ok(simulator.requests.length >= 1, `it reached Code Ocean (${response.statusCode})`)
    for (const name of Object.keys(UNEXPECTED_HEADERS)) t.equal(response.headers[name], undefined, `no ${name}`)
    t.equal(response.headers.etag, '"upstream-etag"', 'an allowlisted header does pass')
    t.equal(response.headers.deprecation, 'true')
  })
}

/** Code Ocean headers a client may rely on, and so must see: what the allowlist is for. */
const ALLOWED_HEADERS: Readonly<Record<string, string>> = {
  'content-language': 'en',
  'cache-control': 'no-store',
  etag: '"upstream-etag"',
  'last-modified': 'Sun, 06 Dec 2026 10:00:00 GMT',
  expires: 'Sun, 06 Dec 2026 11:00:00 GMT',
  deprecation: 'true',
  sunset: 'Sun, 06 Dec 2027 00:00:00 GMT',
  'x-ratelimit-limit': '600',
  'x-ratelimit-remaining': '599',
  'x-ratelimit-reset': '60',
  'retry-after': '30',
  ratelimit: 'limit=600, remaining=599, reset=60',
  'ratelimit-policy': '600;w=60',
  'ratelimit-limit': '600',
  'ratelimit-remaining': '599',
  'ratelimit-reset': '60'
}

t.test('every allowlisted Code Ocean header reaches the caller unchanged', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url)
  simulator.inject({ headers: ALLOWED_HEADERS })
  for (const [operationId, route] of [['getComputation', MIRRORED_ROUTES.getComputation], ['renameComputation', MIRRORED_ROUTES.renameComputation]] as const) {
    const response = await proxy.inject((route as MirroredRoute).sample(simulator))
    for (const [name, value] of Object.entries(ALLOWED_HEADERS)) t.equal(response.headers[name], value, `${operationId}: ${name}`)
  }
})

/** A policy file granting `actions` on every capsule, pipeline and computation to group route-testers. */
async function policyGranting (t: Test, actions: RouteAction[], dataAssets: string[] = ['*']): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'codeocean-proxy-route-policy-'))
  t.teardown(() => rm(directory, { recursive: true, force: true }))
  const file = join(directory, 'policy.yaml')
  await writeFile(file, stringify({ rules: [{ name: 'route testers', groups: ['route-testers'], actions, capsules: ['*'], pipelines: ['*'], data_assets: dataAssets, scope: 'any' }] }))
  return file
}

const ROUTE_TESTER = { 'x-forwarded-user': 'carol@example.com', 'x-forwarded-groups': 'route-testers' }

for (const [operationId, route] of routes.filter(([, route]) => route.mounts.length > 0)) {
  t.test(`${operationId}: mounts only the data assets the policy names`, async (t) => {
    const simulator = await startTestSimulator(t)
    const refusing = await buildTestApp(t, simulator.url, { POLICY_FILE: await policyGranting(t, [route.action], [randomUUID()]) })
    const refused = await refusing.inject(route.sample(simulator), ROUTE_TESTER)
    t.equal(refused.statusCode, 403)
    t.match(refused.json(), { code: 'PROXY_FORBIDDEN', message: new RegExp(`mount data asset ${route.mounts[0] as string}`) })
    t.equal(simulator.requests.length, 0, 'and not forwarded')
    t.match(refusing.log.audits().at(-1), { action: operationId, status: 403, decision: { outcome: 'deny', reason: /no rule grants mounting data asset/ } })
    const granting = await buildTestApp(t, simulator.url, { POLICY_FILE: await policyGranting(t, [route.action], route.mounts) })
    const allowed = await granting.inject(route.sample(simulator), ROUTE_TESTER)
    t.ok(allowed.statusCode < 300, `allowed when the rule names it (${allowed.statusCode})`)
    t.equal(simulator.requests.length, 1, 'and forwarded')
    t.match(granting.log.audits().at(-1), { decision: { outcome: 'allow', reason: /mounting 1 data asset granted by rule "route testers"/ } })
  })
}

for (const [operationId, route] of routes) {
  t.test(`${operationId}: needs the ${route.action} action, and no other grants it`, async (t) => {
    const simulator = await startTestSimulator(t)
    const everyOther = ROUTE_ACTIONS.filter((action) => action !== route.action)
    const refusing = await buildTestApp(t, simulator.url, { POLICY_FILE: await policyGranting(t, everyOther) })
    const refused = await refusing.inject(route.sample(simulator), ROUTE_TESTER)
    t.equal(refused.statusCode, 403, `refused under ${everyOther.join(', ')}`)
    t.equal(simulator.requests.length, 0, 'and not forwarded')
    t.match(refusing.log.audits().at(-1), { action: operationId, status: 403 })

    const granting = await buildTestApp(t, simulator.url, { POLICY_FILE: await policyGranting(t, [route.action]) })
    const allowed = await granting.inject(route.sample(simulator), ROUTE_TESTER)
    t.not(allowed.statusCode, 403, `allowed under ${route.action} alone`)
    t.ok(simulator.requests.length >= 1, 'and forwarded')
  })
}

for (const [operationId, route] of routes) {
  t.test(`${operationId}: with the store down, ${route.mutates ? 'is refused with 503 and never forwarded' : 'is forwarded, its records kept in memory'}`, async (t) => {
    const simulator = await startTestSimulator(t)
    const store = openSqliteDatabase(':memory:')
    const proxy = await buildTestApp(t, simulator.url, {}, { store })
    await store.close()
    const response = await proxy.inject(route.sample(simulator))
    if (route.mutates) {
      t.equal(response.statusCode, 503)
      t.equal(response.json().code, 'PROXY_AUDIT_UNAVAILABLE')
      t.equal(simulator.requests.length, 0, 'Code Ocean heard nothing')
    } else {
      t.not(response.statusCode, 503)
      t.equal(simulator.requests.length, 1, 'a read goes on')
    }
  })
}

for (const [operationId, route] of routes) {
  t.test(`${operationId}: Code Ocean's 401 (our token refused) becomes 502, without Code Ocean's body`, async (t) => {
    const simulator = await startTestSimulator(t)
    const proxy = await buildTestApp(t, simulator.url)
    simulator.inject({ status: 401, body: { message: 'Unauthorized: upstream detail' } })
    const response = await proxy.inject(route.sample(simulator))
    t.equal(response.statusCode, 502)
    t.equal(response.json().code, 'PROXY_UPSTREAM_CREDENTIAL_REJECTED')
    t.notMatch(response.body, 'upstream detail')
    t.equal(simulator.requests.length, 1, 'and it was not retried')
    t.ok(proxy.log.lines().some((line) => line.level === 50 && /CODEOCEAN_TOKEN/.test(String(line.msg))), 'an error telling the operator what to check')
    t.match(proxy.log.audits().at(-1), { status: 502, upstreamStatus: 401, errorClass: 'credential_rejected' }, 'and the record says what happened')
  })
}

for (const [operationId, route] of routes) {
  t.test(`${operationId}: Code Ocean's 503 is ${route.retries ? 'retried' : 'passed back, never retried'}`, async (t) => {
    const simulator = await startTestSimulator(t)
    const proxy = await buildTestApp(t, simulator.url, { UPSTREAM_RETRY_BASE_MS: '10' })
    simulator.inject({ status: 503, times: 1, headers: { 'retry-after': '0' } })
    const response = await proxy.inject(route.sample(simulator))
    if (route.retries) {
      t.equal(simulator.requests.length, 2, 'Code Ocean was asked again')
      t.equal(response.statusCode, simulator.requests[1]?.response?.status, 'and its second answer came back')
      t.not(response.statusCode, 503)
      t.match(proxy.log.audits().at(-1), { upstreamAttempts: 2 })
    } else {
      t.equal(simulator.requests.length, 1, 'Code Ocean was asked once')
      t.equal(response.statusCode, 503)
      t.match(proxy.log.audits().at(-1), { upstreamAttempts: 1, upstreamStatus: 503 })
    }
  })
}

for (const [operationId, route] of routes) {
  t.test(`${operationId}: the same call twice at once ${route.coalesces ? 'costs Code Ocean one call' : 'reaches Code Ocean twice'}`, async (t) => {
    const simulator = await startTestSimulator(t)
    const proxy = await buildTestApp(t, simulator.url)
    // Code Ocean answers late, so the second call arrives while the first is out.
    simulator.inject({ delayMs: 200 })
    const sample = route.sample(simulator)
    const responses = await Promise.all([proxy.inject(sample), proxy.inject(sample)])
    t.equal(simulator.requests.length, route.coalesces ? 1 : 2)
    const answered = simulator.requests.map((request) => request.response?.status)
    t.same(responses.map((response) => response.statusCode).sort(), (route.coalesces ? [answered[0], answered[0]] : answered).sort(), 'each caller got an answer Code Ocean gave')
    const sources = proxy.log.audits().map((audit) => audit.answerSource).sort()
    t.same(sources, route.coalesces ? ['coalesced', 'upstream'] : ['upstream', 'upstream'])
  })
}

t.test('a route that declares no body forwards none and no Content-Type, whatever the caller sends', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url)
  let bodyless = 0
  for (const [operationId, route] of routes) {
    const sample = route.sample(simulator)
    if (sample.payload !== undefined) continue
    bodyless++
    simulator.clearRequests()
    const response = await proxy.inject({ ...sample, headers: { ...sample.headers, 'content-type': 'application/json' }, payload: '{"smuggled":"value"}' })
    t.equal(simulator.requests.length, 1, `${operationId} was forwarded (Code Ocean answered ${response.statusCode})`)
    const [seen] = simulator.requests
    t.equal(seen?.bodyText, '', `${operationId}: no body reached Code Ocean`)
    t.equal(seen?.headers['content-type'], undefined, `${operationId}: nor a Content-Type`)
  }
  t.ok(bodyless >= 5, `${bodyless} routes declare no body`)
})

const hmac = hmacWith(Buffer.from(TEST_HMAC_KEY))

for (const [operationId, route] of routes.filter(([, candidate]: [string, MirroredRoute]) => candidate.sensitive.length > 0)) {
  t.test(`${operationId}: its confidential values are kept only as HMACs, in the trail and the log`, async (t) => {
    const simulator = await startTestSimulator(t)
    const store = openSqliteDatabase(':memory:')
    t.teardown(() => store.close())
    const proxy = await buildTestApp(t, simulator.url, {}, { store })
    await proxy.inject(route.sample(simulator))
    t.ok(simulator.requests.length >= 1, 'the call reached Code Ocean')
    await proxy.app.close()
    let trail = ''
    for (const instance of await store.chainInstances()) trail += (await store.readChain(instance, 0, 1000)).map((row) => row.body).join('\n')
    t.ok(trail.length > 0, 'the trail holds the call')
    for (const value of route.sensitive) {
      t.notOk(trail.includes(value), `the trail does not hold ${value}`)
      t.notOk(proxy.log.text().includes(value), `the log does not hold ${value}`)
      t.ok(trail.includes(hmac(value)), 'the trail holds its HMAC')
    }
  })
}
