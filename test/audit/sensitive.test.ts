// Which request values become HMACs is the route contract's to say; a value the contract names
// but the request lacks (or sends as something else than a string) adds nothing, and a value it
// does not name is never hashed, whatever the request carries.
import { createHmac } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import t from 'tap'
import { hmacWith, sensitiveValuesOf } from '../../src/audit/sensitive.js'
import { routeContract, type SensitiveValue } from '../../src/contract/route-contract.js'

const hmac = hmacWith(Buffer.from('k'.repeat(32)))

function requestWith (sensitive: SensitiveValue[], query: unknown, body: unknown): FastifyRequest {
  const contract = routeContract({ operation: 'test', action: 'read', resource: 'path: computation_id', sensitive })
  return { routeOptions: { config: { contract } }, query, body } as unknown as FastifyRequest
}

t.test('each value the contract names is hashed where the request carries it as a string', async (t) => {
  t.same(sensitiveValuesOf(requestWith(['query.name'], { name: 'n' }, undefined), hmac), { name: hmac('n') })
  t.same(sensitiveValuesOf(requestWith(['query.path'], { path: 'p' }, undefined), hmac), { path: hmac('p') })
  t.same(sensitiveValuesOf(requestWith(['body.path'], {}, { path: 'f' }), hmac), { path: hmac('f') })
  t.same(sensitiveValuesOf(requestWith(['body.parameters'], {}, { parameters: ['a'], named_parameters: [{ param_name: 'x', value: 'b' }] }), hmac),
    { parameters: [hmac('a')], named_parameters: { x: hmac('b') } })
})

t.test('a named value the request lacks, or sends as no string, adds nothing', async (t) => {
  const all: SensitiveValue[] = ['query.name', 'query.path', 'body.path', 'body.parameters']
  t.same(sensitiveValuesOf(requestWith(all, {}, undefined), hmac), {})
  t.same(sensitiveValuesOf(requestWith(all, { name: 1, path: ['p'] }, { path: 2 }), hmac), {})
  t.same(sensitiveValuesOf(requestWith(['body.parameters'], {}, null), hmac), {})
})

t.test('a value the contract does not name is never hashed, nor kept', async (t) => {
  t.same(sensitiveValuesOf(requestWith([], { name: 'n', path: 'p' }, { path: 'f', parameters: ['a'] }), hmac), {})
  const noContract = { routeOptions: { config: {} }, query: { name: 'n' }, body: undefined } as unknown as FastifyRequest
  t.same(sensitiveValuesOf(noContract, hmac), {}, 'nor on a route without a contract')
})

t.test('the HMAC is SHA-256 under the key, in hex', async (t) => {
  t.equal(hmac('value'), createHmac('sha256', Buffer.from('k'.repeat(32))).update('value').digest('hex'))
})

t.test('a pipeline run\'s per-process parameters are hashed under each process\'s name', async (t) => {
  const body = { processes: [{ name: 'align', parameters: ['a'], named_parameters: [{ param_name: 'x', value: 'b' }] }, { name: 'plot' }] }
  t.same(sensitiveValuesOf(requestWith(['body.parameters'], {}, body), hmac),
    { processes: { align: { parameters: [hmac('a')], named_parameters: { x: hmac('b') } }, plot: {} } })
})
