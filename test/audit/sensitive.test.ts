// Which request values become HMACs is the route contract's to say; a value the contract names
// but the request lacks (or sends as something else than a string) adds nothing, and a value it
// does not name is never hashed, whatever the request carries.
import { createHmac } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import t from 'tap'
import { hmacWith, MAX_HASHED_VALUES, parameterListText, sensitiveValuesOf } from '../../src/audit/sensitive.js'
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

t.test(`up to ${MAX_HASHED_VALUES} parameters, named parameters and processes, each value gets its own HMAC`, async (t) => {
  const parameters = Array.from({ length: MAX_HASHED_VALUES - 2 }, (_, index) => `v${index}`)
  const processes = [{ name: 'align', parameters: ['p'] }]
  const hashed = sensitiveValuesOf(requestWith(['body.parameters'], {}, { parameters, processes }), hmac)
  t.same(hashed, { parameters: parameters.map(hmac), processes: { align: { parameters: [hmac('p')] } } })
})

t.test(`past ${MAX_HASHED_VALUES} of them, one HMAC over the whole list and its count`, async (t) => {
  const body = {
    parameters: Array.from({ length: MAX_HASHED_VALUES - 3 }, (_, index) => `v${index}`),
    named_parameters: [{ param_name: 'n', value: 'x' }],
    processes: [{ name: 'align', parameters: ['p'] }, { name: 'sort', named_parameters: null }]
  }
  const hashed = sensitiveValuesOf(requestWith(['body.parameters'], {}, body), hmac)
  t.same(hashed, { parametersDigest: { count: MAX_HASHED_VALUES + 1, hmac: hmac(parameterListText(body)) } })
  t.same(JSON.parse(parameterListText(body)), {
    named_parameters: body.named_parameters,
    parameters: body.parameters,
    processes: [{ name: 'align', parameters: ['p'], named_parameters: null }, { name: 'sort', parameters: null, named_parameters: null }]
  }, 'the list as sent, with null for what is absent')
  t.match(parameterListText(body), /^\{"named_parameters":\[\{"param_name":"n","value":"x"\}\],"parameters":\["v0",/, 'as canonical JSON')
  t.equal(parameterListText({}), '{"named_parameters":null,"parameters":null,"processes":null}')
})

t.test('the HMAC is SHA-256 under the key, in hex', async (t) => {
  t.equal(hmac('value'), createHmac('sha256', Buffer.from('k'.repeat(32))).update('value').digest('hex'))
})

t.test('a pipeline run\'s per-process parameters are hashed under each process\'s name', async (t) => {
  const body = { processes: [{ name: 'align', parameters: ['a'], named_parameters: [{ param_name: 'x', value: 'b' }] }, { name: 'plot' }] }
  t.same(sensitiveValuesOf(requestWith(['body.parameters'], {}, body), hmac),
    { processes: { align: { parameters: [hmac('a')], named_parameters: { x: hmac('b') } }, plot: {} } })
})

t.test(`exactly ${MAX_HASHED_VALUES} values without processes are still hashed one by one`, async (t) => {
  const parameters = Array.from({ length: MAX_HASHED_VALUES }, (_, index) => `v${index}`)
  const hashed = sensitiveValuesOf(requestWith(['body.parameters'], {}, { parameters }), hmac)
  t.same(hashed, { parameters: parameters.map(hmac) })
  const oneMore = sensitiveValuesOf(requestWith(['body.parameters'], {}, { parameters: [...parameters, 'last'] }), hmac)
  t.same(Object.keys(oneMore), ['parametersDigest'])
})
