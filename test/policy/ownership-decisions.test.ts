// The pure decisions behind ownership, on their own: what a run's answer says was started, the
// owner row a run records, and which elements of a list a caller may read. (Through the app, with
// a store and Code Ocean: test/policy/ownership.test.ts.)
import t from 'tap'
import type { Identity } from '../../src/identity/identity.js'
import { ownerRowFor, readableOnly, startedRunOf } from '../../src/policy/ownership.js'
import { DEFAULT_POLICY, Policy } from '../../src/policy/policy.js'
import type { OwnerRow } from '../../src/store/store.js'

const alice: Identity = { subject: 'alice@example.com', email: null, groups: ['team-a'], method: 'trusted-header', keyId: null }
const CAPSULE = { kind: 'capsule', id: 'c0ffee00-0000-4000-8000-000000000001' } as const
const PIPELINE = { kind: 'pipeline', id: 'c0ffee00-0000-4000-8000-000000000002' } as const
const answer = (status: number, body: string): { status: number, body: Buffer } => ({ status, body: Buffer.from(body) })

t.test('a run\'s answer names what was started only with a 200 and a non-empty id', async (t) => {
  t.same(startedRunOf(answer(200, '{"id":"ABC-1","state":"initializing"}')), { kind: 'started', computationId: 'ABC-1' })
  t.same(startedRunOf(answer(400, '{"id":"ABC-1","message":"bad"}')), { kind: 'refused' }, 'another status, even with an id, started nothing')
  t.same(startedRunOf(answer(500, 'oops')), { kind: 'refused' })
  for (const body of ['{"id":""}', '{"id":7}', '{}', 'null', 'not json', '']) {
    t.same(startedRunOf(answer(200, body)), { kind: 'unnamed' }, `a 200 with ${JSON.stringify(body)}`)
  }
})

t.test('the owner row of a run names its caller and what it ran, capsule or pipeline', async (t) => {
  const at = new Date('2026-12-07T12:00:00.000Z')
  const base = { computationId: 'abc-1', subject: alice.subject, groups: ['team-a'], createdAt: '2026-12-07T12:00:00.000Z', namespaced: true }
  t.same(ownerRowFor('ABC-1', alice, CAPSULE, at), { ...base, capsuleId: CAPSULE.id, pipelineId: null }, 'a capsule run, its id in lower case')
  t.same(ownerRowFor('abc-1', alice, PIPELINE, at), { ...base, capsuleId: null, pipelineId: PIPELINE.id }, 'a pipeline run')
})

t.test('a list keeps the elements the caller may read, byte for byte, in order, as a JSON array', async (t) => {
  const owner = (computationId: string, subject: string): OwnerRow => ({ computationId, subject, groups: [], capsuleId: CAPSULE.id, pipelineId: null, createdAt: '2026-12-07T12:00:00.000Z', namespaced: true })
  const owners = new Map([['a-1', owner('a-1', alice.subject)], ['b-1', owner('b-1', 'bob@example.com')], ['a-2', owner('a-2', alice.subject)]])
  const asked: string[][] = []
  const ownersOf = async (ids: readonly string[]): Promise<Map<string, OwnerRow>> => {
    asked.push([...ids])
    return new Map(ids.flatMap((id) => owners.has(id) ? [[id, owners.get(id) as OwnerRow]] : []))
  }
  const list = '[ {"id":"A-1", "name": "mine"},{"id":"b-1"},{"name":"no id"},{"id":"unknown"},{"id":"a-2","x":[1,2]} ]'
  const own = await readableOnly(answer(200, list), alice, CAPSULE, new Policy(DEFAULT_POLICY), ownersOf)
  t.equal(own.toString(), '[{"id":"A-1", "name": "mine"},{"id":"a-2","x":[1,2]}]', 'only alice\'s, each as Code Ocean wrote it')
  t.same(asked, [['a-1', 'b-1', 'unknown', 'a-2']], 'owners are read once, for the elements that have an id')

  const everyone = new Policy({ rules: [{ name: 'auditors', subjects: ['*'], actions: ['read'], capsules: ['*'], pipelines: ['*'], scope: 'any' }] })
  const all = await readableOnly(answer(200, list), alice, CAPSULE, everyone, ownersOf)
  t.equal(all.toString(), '[{"id":"A-1", "name": "mine"},{"id":"b-1"},{"id":"unknown"},{"id":"a-2","x":[1,2]}]', 'reading everything: every element with an id, none without')
  t.equal((await readableOnly(answer(404, '{"message":"no such capsule"}'), alice, CAPSULE, everyone, ownersOf)).toString(), '{"message":"no such capsule"}', 'an error passes as it is')
})
