// What a run starts and what a list names, read from the validated request: the policy decides
// on these targets, so a run must name exactly one.
import t from 'tap'
import { InvalidRequest } from '../../src/errors.js'
import { listTargetOf, runTargetOf } from '../../src/policy/targets.js'

t.test('a run with capsule_id targets that capsule', async (t) => {
  t.same(runTargetOf({ capsule_id: 'c-1' }), { kind: 'capsule', id: 'c-1' })
  t.same(runTargetOf({ capsule_id: 'c-1', pipeline_id: null }), { kind: 'capsule', id: 'c-1' }, 'a null pipeline_id counts as unset')
})

t.test('a run with pipeline_id targets that pipeline', async (t) => {
  t.same(runTargetOf({ pipeline_id: 'p-1' }), { kind: 'pipeline', id: 'p-1' })
  t.same(runTargetOf({ capsule_id: null, pipeline_id: 'p-1' }), { kind: 'pipeline', id: 'p-1' }, 'a null capsule_id counts as unset')
})

t.test('a run naming both a capsule and a pipeline is refused as invalid', async (t) => {
  t.throws(() => runTargetOf({ capsule_id: 'c-1', pipeline_id: 'p-1' }), { code: 'PROXY_INVALID_REQUEST', statusCode: 400 })
  t.throws(() => runTargetOf({ capsule_id: 'c-1', pipeline_id: 'p-1' }), InvalidRequest)
})

t.test('a run naming neither is refused as invalid, nulls included', async (t) => {
  t.throws(() => runTargetOf({}), { code: 'PROXY_INVALID_REQUEST', statusCode: 400 })
  t.throws(() => runTargetOf({ capsule_id: null, pipeline_id: null }), { code: 'PROXY_INVALID_REQUEST' })
})

t.test('an empty capsule_id is still a capsule: the schema, not this, rejects empty ids', async (t) => {
  t.same(runTargetOf({ capsule_id: '' }), { kind: 'capsule', id: '' })
})

t.test('a list route targets the capsule or pipeline its path names', async (t) => {
  t.same(listTargetOf({ capsule_id: 'c-1' }), { kind: 'capsule', id: 'c-1' })
  t.same(listTargetOf({ pipeline_id: 'p-1' }), { kind: 'pipeline', id: 'p-1' })
})
