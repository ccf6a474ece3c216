// How links, anchors and checkpoints are made, pinned to their definitions: a chain written by one
// release must verify under the next, so the domain strings and layouts are part of the format.
import { createHash, createHmac, createSecretKey, type KeyObject } from 'node:crypto'
import t from 'tap'
import { chainAnchor, chainKeyFrom, checkpointMac, isKeyed, linkHash } from '../../src/audit/chain.js'
import { indexedColumnsOf } from '../../src/audit/indexed-columns.js'

const auditKey = Buffer.from('a'.repeat(32))
const hmacHex = (key: Buffer | KeyObject, text: string): string => createHmac('sha256', key).update(text).digest('hex')
const sha256Hex = (text: string): string => createHash('sha256').update(text).digest('hex')

t.test('the chain key is an HMAC of a fixed label under the audit key', async (t) => {
  t.same(chainKeyFrom(auditKey).export(), createHmac('sha256', auditKey).update('codeocean-proxy audit chain key').digest())
})

t.test('keyed links are "v2:" and an HMAC of predecessor, position and body, one per line', async (t) => {
  const key = chainKeyFrom(auditKey)
  t.equal(linkHash('prev', 7, '{"a":1}', key), `v2:${hmacHex(key, 'prev\n7\n{"a":1}')}`)
  t.equal(chainAnchor('instance-1', key), `v2:${hmacHex(key, 'codeocean-proxy audit chain instance-1')}`)
})

t.test('links of earlier releases are plain SHA-256 of the same text, and are told apart', async (t) => {
  t.equal(linkHash('prev', 7, '{"a":1}'), sha256Hex('prev\n7\n{"a":1}'))
  t.equal(chainAnchor('instance-1'), sha256Hex('codeocean-proxy audit chain instance-1'))
  t.ok(isKeyed(linkHash('prev', 1, '{}', chainKeyFrom(auditKey))))
  t.notOk(isKeyed(linkHash('prev', 1, '{}')))
  t.notOk(isKeyed(`x${linkHash('prev', 1, '{}', chainKeyFrom(auditKey))}`), 'only as a prefix')
})

t.test('a checkpoint\'s MAC covers its instance, position and head under a label of its own', async (t) => {
  t.equal(checkpointMac(createSecretKey(auditKey), 'instance-1', 42, 'v2:ab'), hmacHex(auditKey, 'codeocean-proxy audit checkpoint\ninstance-1\n42\nv2:ab'))
})

t.test('the searched columns are copied from the record, and anything not of their type is null', async (t) => {
  const record = {
    action: 'runCapsule',
    status: 200,
    actor: { subject: 'ann@example.com' },
    resource: { computation_id: 'c', capsule_id: 'k', pipeline_id: 'p', resume_run_id: 'r' }
  }
  t.same(indexedColumnsOf(record), {
    action: 'runCapsule', computationId: 'c', capsuleId: 'k', pipelineId: 'p', status: 200, actor: 'ann@example.com', resumeRunId: 'r'
  })
  const nulls = { action: null, computationId: null, capsuleId: null, pipelineId: null, status: null, actor: null, resumeRunId: null }
  t.same(indexedColumnsOf({}), nulls)
  t.same(indexedColumnsOf({
    action: 1, status: '200', actor: { subject: 2 }, resource: { computation_id: 3, capsule_id: [], pipeline_id: {}, resume_run_id: true }
  }), nulls)
})
