// Service keys and people never share a subject, through the real app: a key proves
// `key:<subject>`, so a gateway user of the same name reaches none of its computations, nor it
// theirs; the gateway can never prove a subject in the keys' namespace; policy rules name keys as
// `key:<subject>`; and only a key made to act as a person is that person.
import { join } from 'node:path'
import t from 'tap'
import { createServiceKey } from '../../src/identity/service-keys.js'
import { buildTestApp, type TestApp } from '../helpers/app.js'
import { startTestSimulator } from '../helpers/simulator.js'

const basic = (key: string): string => `Basic ${Buffer.from(`${key}:`).toString('base64')}`
const person = (subject: string): Record<string, string> => ({ 'x-forwarded-user': subject })

async function run (proxy: TestApp, capsuleId: string, headers: Record<string, string>): Promise<string> {
  const response = await proxy.inject({ method: 'POST', url: '/api/v1/computations', headers, payload: { capsule_id: capsuleId } }, null)
  if (response.statusCode !== 200) throw new Error(`run answered ${response.statusCode}: ${response.body}`)
  return response.json().id as string
}

async function read (proxy: TestApp, id: string, headers: Record<string, string>): Promise<number> {
  return (await proxy.inject({ method: 'GET', url: `/api/v1/computations/${id}`, headers }, null)).statusCode
}

t.test('a key and a gateway user of the same subject own none of each other\'s computations', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, { POLICY_FILE: '' })
  const { key } = await createServiceKey(proxy.store, { subject: 'ci-nightly', groups: [] })
  const bySomeKey = await run(proxy, simulator.capsules.analysis, { authorization: basic(key) })
  const byPerson = await run(proxy, simulator.capsules.analysis, person('ci-nightly'))
  t.match(proxy.log.audits().filter((record) => record.stage === 'completed').map((record) => record.actor),
    [{ subject: 'key:ci-nightly', method: 'service-key' }, { subject: 'ci-nightly', method: 'trusted-header' }], 'the audit actor shows the namespace')

  const before = simulator.requests.length
  t.equal(await read(proxy, bySomeKey, person('ci-nightly')), 404, 'the person does not see the key\'s computation')
  t.equal(await read(proxy, byPerson, { authorization: basic(key) }), 404, 'nor the key the person\'s')
  t.equal(simulator.requests.length, before, 'neither read reached Code Ocean')
  t.equal(await read(proxy, bySomeKey, { authorization: basic(key) }), 200, 'each still reads its own')
  t.equal(await read(proxy, byPerson, person('ci-nightly')), 200)
})

t.test('a key made to act as a person is that person: it reads their computations and they read its', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, { POLICY_FILE: '' })
  const own = await createServiceKey(proxy.store, { subject: 'alice', groups: [], asPerson: true })
  const other = await createServiceKey(proxy.store, { subject: 'alice', groups: [] })
  const byAlice = await run(proxy, simulator.capsules.analysis, person('alice'))
  const byHerKey = await run(proxy, simulator.capsules.analysis, { authorization: basic(own.key) })
  t.equal(await read(proxy, byAlice, { authorization: basic(own.key) }), 200)
  t.equal(await read(proxy, byHerKey, person('alice')), 200)
  t.equal(await read(proxy, byAlice, { authorization: basic(other.key) }), 404, 'a key of the same subject without --as-person is not her')
  t.match(proxy.log.audits().at(-3)?.actor, { subject: 'alice', method: 'service-key', keyId: own.row.keyId }, 'the audit tells the key from the person')
})

t.test('the gateway cannot prove a subject in the keys\' namespace, in any case', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, { POLICY_FILE: '' })
  const { key } = await createServiceKey(proxy.store, { subject: 'ci-nightly', groups: [] })
  const computationId = await run(proxy, simulator.capsules.analysis, { authorization: basic(key) })
  const before = simulator.requests.length
  for (const subject of ['key:ci-nightly', 'KEY:ci-nightly', 'Key:other']) {
    const response = await proxy.inject({ method: 'GET', url: `/api/v1/computations/${computationId}`, headers: person(subject) }, null)
    t.equal(response.statusCode, 401, subject)
    t.match(response.json().message, /namespace of service keys/)
  }
  t.equal(simulator.requests.length, before, 'nothing reached Code Ocean')
})

t.test('policy rules name a key as key:<subject>; a rule naming the bare subject is a person\'s', async (t) => {
  const simulator = await startTestSimulator(t)
  const policyFile = join(t.testdir({ 'policy.yaml': [
    'rules:',
    '  - name: the nightly key reads everything',
    '    subjects: ["key:ci-nightly"]',
    '    actions: [read]',
    '    capsules: ["*"]',
    '    pipelines: ["*"]',
    '    scope: any',
    '  - name: the person ci-nightly runs',
    '    subjects: [ci-nightly]',
    '    actions: [run, read]',
    '    capsules: ["*"]',
    ''
  ].join('\n') }), 'policy.yaml')
  const proxy = await buildTestApp(t, simulator.url, { POLICY_FILE: policyFile })
  const { key } = await createServiceKey(proxy.store, { subject: 'ci-nightly', groups: [] })
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  t.equal(await read(proxy, computation.id, { authorization: basic(key) }), 200, 'the rule for key:ci-nightly applies to the key')
  t.equal(await read(proxy, computation.id, person('ci-nightly')), 404, 'and not to the person')
  const refused = await proxy.inject({ method: 'POST', url: '/api/v1/computations', headers: { authorization: basic(key) }, payload: { capsule_id: simulator.capsules.analysis } }, null)
  t.equal(refused.statusCode, 403, 'the rule for the person ci-nightly does not apply to the key')
  t.ok(await run(proxy, simulator.capsules.analysis, person('ci-nightly')), 'but does to the person')
})
