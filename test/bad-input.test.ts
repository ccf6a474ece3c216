// Bad input gets a 4xx JSON error with a message, is audited, and never reaches Code Ocean.
import t from 'tap'
import { LIST_LIMITS, MAX_PARAMETER_VALUE_LENGTH } from '../schemas/computations.js'
import { buildTestApp } from './helpers/app.js'
import { startTestSimulator } from './helpers/simulator.js'

const VALID_ID = '5f5c3c4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f'
const CAPSULE = '8a3a4e2c-6c8f-4a8e-9c4b-6f4d3b2a1c0e'

interface Case {
  name: string
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE'
  url: string
  payload?: string
  headers?: Record<string, string>
  status: number
  code: string
  message?: RegExp
}

const JSON_TYPE = { 'content-type': 'application/json' }
const run = (body: unknown): Pick<Case, 'method' | 'url' | 'payload' | 'headers'> =>
  ({ method: 'POST', url: '/api/v1/computations', payload: JSON.stringify(body), headers: JSON_TYPE })

const cases: Case[] = [
  { name: 'an encoded traversal id', method: 'GET', url: '/api/v1/computations/..%2F..%2Fcapsules%2Fx', status: 400, code: 'PROXY_INVALID_REQUEST', message: /computation_id must be a UUID/ },
  // URL parsing turns %2e%2e into `..` and resolves it, leaving no route.
  { name: 'an encoded dot-dot id', method: 'GET', url: '/api/v1/computations/%2e%2e', status: 404, code: 'PROXY_ROUTE_NOT_FOUND' },
  { name: 'an encoded dot-dot id below a route', method: 'GET', url: '/api/v1/computations/%2e%2e/results/urls?path=x', status: 404, code: 'PROXY_ROUTE_NOT_FOUND' },
  { name: 'a malformed percent-encoding', method: 'GET', url: '/api/v1/computations/%E0%A4%A', status: 400, code: 'PROXY_BAD_URL' },
  { name: 'a malformed percent-encoding in a query', method: 'PATCH', url: `/api/v1/computations/${VALID_ID}?name=%E0%A4%A`, status: 400, code: 'PROXY_BAD_URL' },
  { name: 'a stray percent sign in a query', method: 'GET', url: `/api/v1/computations/${VALID_ID}/results/urls?path=100%`, status: 400, code: 'PROXY_BAD_URL' },
  { name: 'an id with an encoded slash', method: 'DELETE', url: '/api/v1/computations/a%2Fb', status: 400, code: 'PROXY_INVALID_REQUEST' },
  { name: 'a non-UUID id', method: 'GET', url: '/api/v1/computations/12345', status: 400, code: 'PROXY_INVALID_REQUEST' },
  { name: 'a urn:uuid: id', method: 'GET', url: `/api/v1/computations/urn:uuid:${VALID_ID}`, status: 400, code: 'PROXY_INVALID_REQUEST' },
  { name: 'an over-long id', method: 'GET', url: `/api/v1/computations/${'a'.repeat(5000)}`, status: 414, code: 'PROXY_PATH_SEGMENT_TOO_LONG' },
  { name: 'a non-UUID capsule id', method: 'GET', url: '/api/v1/capsules/..%2Fcomputations/computations', status: 400, code: 'PROXY_INVALID_REQUEST' },
  { name: 'malformed JSON', method: 'POST', url: '/api/v1/computations', payload: '{"capsule_id": ', headers: JSON_TYPE, status: 400, code: 'PROXY_MALFORMED_JSON' },
  { name: 'a prototype-poisoning key', method: 'POST', url: '/api/v1/computations', payload: `{"capsule_id":"${CAPSULE}","__proto__":{"x":1}}`, headers: JSON_TYPE, status: 400, code: 'PROXY_MALFORMED_JSON' },
  { name: 'numbers as ordered parameters', ...run({ capsule_id: CAPSULE, parameters: [1, 2] }), status: 400, code: 'PROXY_INVALID_REQUEST', message: /body\/parameters\/0 must be string/ },
  { name: 'a string version', ...run({ capsule_id: CAPSULE, version: '2' }), status: 400, code: 'PROXY_INVALID_REQUEST', message: /body\/version/ },
  { name: 'an unknown field with a value', ...run({ capsule_id: CAPSULE, priority: 'high' }), status: 400, code: 'PROXY_INVALID_REQUEST', message: /unknown property "priority"/ },
  { name: 'a nested unknown field with a value', ...run({ capsule_id: CAPSULE, data_assets: [{ id: VALID_ID, readonly: true }] }), status: 400, code: 'PROXY_INVALID_REQUEST', message: /body\/data_assets\/0 has an unknown property "readonly"/ },
  { name: 'both capsule_id and pipeline_id', ...run({ capsule_id: CAPSULE, pipeline_id: CAPSULE }), status: 400, code: 'PROXY_INVALID_REQUEST', message: /both capsule_id and pipeline_id/ },
  { name: 'neither capsule_id nor pipeline_id', ...run({ capsule_id: null, parameters: ['1'] }), status: 400, code: 'PROXY_INVALID_REQUEST', message: /capsule_id .* or pipeline_id/ },
  { name: 'a named parameter without a value', ...run({ capsule_id: CAPSULE, named_parameters: [{ param_name: 'x' }] }), status: 400, code: 'PROXY_INVALID_REQUEST', message: /missing the required property "value"/ },
  { name: 'an array where the run body is an object', ...run([CAPSULE]), status: 400, code: 'PROXY_INVALID_REQUEST' },
  { name: 'a run with no body', method: 'POST', url: '/api/v1/computations', headers: JSON_TYPE, status: 400, code: 'PROXY_INVALID_REQUEST' },
  { name: 'a non-JSON content type', method: 'POST', url: '/api/v1/computations', payload: 'capsule_id=x', headers: { 'content-type': 'application/x-www-form-urlencoded' }, status: 415, code: 'PROXY_UNSUPPORTED_MEDIA_TYPE' },
  { name: 'a body without a content type', method: 'POST', url: '/api/v1/computations', payload: '{}', status: 415, code: 'PROXY_UNSUPPORTED_MEDIA_TYPE' },
  { name: 'a rename to a name with a control character', method: 'PATCH', url: `/api/v1/computations/${VALID_ID}?name=a%07b`, status: 400, code: 'PROXY_INVALID_REQUEST', message: /query(string)?\/name has a character that is not allowed/ },
  { name: 'a body over the limit', ...run({ capsule_id: CAPSULE, parameters: ['x'.repeat(2 * 1024 * 1024)] }), status: 413, code: 'PROXY_BODY_TOO_LARGE' },
  { name: 'a results path with ..', method: 'POST', url: `/api/v1/computations/${VALID_ID}/results`, payload: '{"path":"../../etc"}', headers: JSON_TYPE, status: 400, code: 'PROXY_INVALID_REQUEST', message: /without "\.\." segments/ },
  { name: 'a result file path with ..', method: 'GET', url: `/api/v1/computations/${VALID_ID}/results/urls?path=a%2F..%2F..%2Fb`, status: 400, code: 'PROXY_INVALID_REQUEST' },
  { name: 'a result file path with a control character', method: 'GET', url: `/api/v1/computations/${VALID_ID}/results/urls?path=a%0Ab`, status: 400, code: 'PROXY_INVALID_REQUEST' },
  { name: 'an absolute results path', method: 'POST', url: `/api/v1/computations/${VALID_ID}/results`, payload: '{"path":"/etc"}', headers: JSON_TYPE, status: 400, code: 'PROXY_INVALID_REQUEST', message: /body\/path must be a relative path \(no leading "\/", no backslash\)/ },
  { name: 'a results path with a backslash', method: 'POST', url: `/api/v1/computations/${VALID_ID}/results`, payload: '{"path":"figures\\\\..\\\\x"}', headers: JSON_TYPE, status: 400, code: 'PROXY_INVALID_REQUEST', message: /must be a relative path/ },
  { name: 'an absolute result file path', method: 'GET', url: `/api/v1/computations/${VALID_ID}/results/urls?path=%2Fetc%2Fpasswd`, status: 400, code: 'PROXY_INVALID_REQUEST', message: /querystring\/path must be a relative path/ },
  { name: 'a result file path with a backslash', method: 'GET', url: `/api/v1/computations/${VALID_ID}/results/urls?path=a%5Cb`, status: 400, code: 'PROXY_INVALID_REQUEST', message: /must be a relative path/ },
  { name: 'an absolute download path', method: 'GET', url: `/api/v1/computations/${VALID_ID}/results/download_url?path=%2Fa`, status: 400, code: 'PROXY_INVALID_REQUEST', message: /must be a relative path/ },
  { name: 'a rename to a name with a C1 control character', method: 'PATCH', url: `/api/v1/computations/${VALID_ID}?name=a%C2%85b`, status: 400, code: 'PROXY_INVALID_REQUEST', message: /name has a character that is not allowed in a name/ },
  { name: 'a rename to a name with a bidi override', method: 'PATCH', url: `/api/v1/computations/${VALID_ID}?name=invoice%E2%80%AEfdp.exe`, status: 400, code: 'PROXY_INVALID_REQUEST', message: /bidirectional overrides/ },
  { name: 'a rename to a name with a bidi isolate', method: 'PATCH', url: `/api/v1/computations/${VALID_ID}?name=a%E2%81%A6b`, status: 400, code: 'PROXY_INVALID_REQUEST', message: /bidirectional overrides/ },
  { name: 'a rename to a name with a delete character', method: 'PATCH', url: `/api/v1/computations/${VALID_ID}?name=a%7Fb`, status: 400, code: 'PROXY_INVALID_REQUEST' },
  { name: 'one ordered parameter too many', ...run({ capsule_id: CAPSULE, parameters: Array(LIST_LIMITS.parameters + 1).fill('') }), status: 400, code: 'PROXY_INVALID_REQUEST', message: /body\/parameters must NOT have more than/ },
  { name: 'one named parameter too many', ...run({ capsule_id: CAPSULE, named_parameters: Array(LIST_LIMITS.parameters + 1).fill({ param_name: 'p', value: '' }) }), status: 400, code: 'PROXY_INVALID_REQUEST', message: /body\/named_parameters must NOT have more than/ },
  { name: 'one process too many', ...run({ pipeline_id: CAPSULE, processes: Array(LIST_LIMITS.processes + 1).fill({ name: 'p' }) }), status: 400, code: 'PROXY_INVALID_REQUEST', message: /body\/processes must NOT have more than/ },
  { name: 'one process parameter too many', ...run({ pipeline_id: CAPSULE, processes: [{ name: 'p', parameters: Array(LIST_LIMITS.parameters + 1).fill('') }] }), status: 400, code: 'PROXY_INVALID_REQUEST', message: /body\/processes\/0\/parameters must NOT have more than/ },
  { name: 'one process named parameter too many', ...run({ pipeline_id: CAPSULE, processes: [{ name: 'p', named_parameters: Array(LIST_LIMITS.parameters + 1).fill({ param_name: 'p', value: '' }) }] }), status: 400, code: 'PROXY_INVALID_REQUEST', message: /body\/processes\/0\/named_parameters must NOT have more than/ },
  { name: 'one data asset too many on a run', ...run({ capsule_id: CAPSULE, data_assets: Array(LIST_LIMITS.dataAssets + 1).fill({ id: VALID_ID }) }), status: 400, code: 'PROXY_INVALID_REQUEST', message: /body\/data_assets must NOT have more than/ },
  { name: 'a parameter value too long', ...run({ capsule_id: CAPSULE, parameters: ['x'.repeat(MAX_PARAMETER_VALUE_LENGTH + 1)] }), status: 400, code: 'PROXY_INVALID_REQUEST', message: /body\/parameters\/0 must NOT have more than/ },
  { name: 'a named parameter value too long', ...run({ capsule_id: CAPSULE, named_parameters: [{ param_name: 'p', value: 'x'.repeat(MAX_PARAMETER_VALUE_LENGTH + 1) }] }), status: 400, code: 'PROXY_INVALID_REQUEST', message: /body\/named_parameters\/0\/value must NOT have more than/ },
  { name: 'one data asset too many to attach', method: 'POST', url: `/api/v1/computations/${VALID_ID}/data_assets`, payload: JSON.stringify(Array(LIST_LIMITS.dataAssets + 1).fill({ id: VALID_ID })), headers: JSON_TYPE, status: 400, code: 'PROXY_INVALID_REQUEST', message: /body must NOT have more than/ },
  { name: 'one data asset too many to detach', method: 'DELETE', url: `/api/v1/computations/${VALID_ID}/data_assets/`, payload: JSON.stringify(Array(LIST_LIMITS.dataAssets + 1).fill(VALID_ID)), headers: JSON_TYPE, status: 400, code: 'PROXY_INVALID_REQUEST', message: /body must NOT have more than/ },
  { name: 'result URLs without a path', method: 'GET', url: `/api/v1/computations/${VALID_ID}/results/urls`, status: 400, code: 'PROXY_INVALID_REQUEST', message: /missing the required property "path"/ },
  { name: 'a repeated path parameter', method: 'GET', url: `/api/v1/computations/${VALID_ID}/results/urls?path=a&path=b`, status: 400, code: 'PROXY_INVALID_REQUEST' },
  { name: 'an unknown query parameter', method: 'GET', url: `/api/v1/computations/${VALID_ID}/results/urls?path=a&token=x`, status: 400, code: 'PROXY_INVALID_REQUEST', message: /unknown property "token"/ },
  { name: 'a query on a route that takes none', method: 'GET', url: `/api/v1/computations/${VALID_ID}?capsule_id=${CAPSULE}`, status: 400, code: 'PROXY_INVALID_REQUEST', message: /querystring has an unknown property "capsule_id"/ },
  { name: 'a query smuggled onto a run', method: 'POST', url: `/api/v1/computations?pipeline_id=${CAPSULE}`, payload: JSON.stringify({ capsule_id: CAPSULE }), headers: JSON_TYPE, status: 400, code: 'PROXY_INVALID_REQUEST' },
  { name: 'a query on a delete', method: 'DELETE', url: `/api/v1/computations/${VALID_ID}?force=true`, status: 400, code: 'PROXY_INVALID_REQUEST' },
  { name: 'an unknown null field named like an Object member', ...run({ capsule_id: CAPSULE, constructor: 'x' }), status: 400, code: 'PROXY_INVALID_REQUEST' },
  { name: 'a version too large to be one', ...run({ capsule_id: CAPSULE, version: 9007199254740993 }), status: 400, code: 'PROXY_INVALID_REQUEST' },
  { name: 'a rename without a name', method: 'PATCH', url: `/api/v1/computations/${VALID_ID}`, status: 400, code: 'PROXY_INVALID_REQUEST' },
  { name: 'a rename to an empty name', method: 'PATCH', url: `/api/v1/computations/${VALID_ID}?name=`, status: 400, code: 'PROXY_INVALID_REQUEST' },
  { name: 'an attach body that is an object', method: 'POST', url: `/api/v1/computations/${VALID_ID}/data_assets`, payload: `{"id":"${VALID_ID}"}`, headers: JSON_TYPE, status: 400, code: 'PROXY_INVALID_REQUEST' },
  { name: 'an empty attach list', method: 'POST', url: `/api/v1/computations/${VALID_ID}/data_assets`, payload: '[]', headers: JSON_TYPE, status: 400, code: 'PROXY_INVALID_REQUEST' },
  { name: 'a detach list of non-ids', method: 'DELETE', url: `/api/v1/computations/${VALID_ID}/data_assets/`, payload: '["../x"]', headers: JSON_TYPE, status: 400, code: 'PROXY_INVALID_REQUEST' },
  { name: 'an unknown path', method: 'GET', url: '/api/v1/computations', status: 404, code: 'PROXY_ROUTE_NOT_FOUND' },
  { name: 'an API the proxy does not mirror', method: 'GET', url: '/api/v1/data_assets', status: 404, code: 'PROXY_NOT_MIRRORED', message: /data assets, which this proxy does not serve/ },
  { name: 'a path outside the API', method: 'GET', url: '/../../etc/passwd', status: 404, code: 'PROXY_ROUTE_NOT_FOUND' },
  { name: 'a method the API does not have', method: 'PATCH', url: '/api/v1/computations', status: 404, code: 'PROXY_ROUTE_NOT_FOUND' }
]

t.test('bad input is rejected with a JSON error, audited, and never forwarded', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url)
  for (const input of cases) {
    const response = await proxy.inject({
      method: input.method,
      url: input.url,
      ...(input.payload === undefined ? {} : { payload: input.payload }),
      headers: { 'x-request-id': `bad-input-${cases.indexOf(input)}`, ...input.headers }
    })
    t.equal(response.statusCode, input.status, `${input.name}: status`)
    t.match(response.headers['content-type'], /^application\/json/, `${input.name}: JSON`)
    const body = response.json()
    t.equal(body.code, input.code, `${input.name}: code`)
    t.equal(body.statusCode, input.status, `${input.name}: statusCode in the body`)
    t.type(body.message, 'string', `${input.name}: message`)
    t.equal(body.requestId, `bad-input-${cases.indexOf(input)}`, `${input.name}: requestId`)
    if (input.message !== undefined) t.match(body.message, input.message, `${input.name}: message names the problem`)
  }
  t.equal(simulator.requests.length, 0, 'nothing reached Code Ocean')
  const audits = proxy.log.audits()
  t.equal(audits.length, cases.length, 'every rejected request was audited')
  for (const input of cases) {
    const record = audits.find((audit) => audit.requestId === `bad-input-${cases.indexOf(input)}`)
    t.equal(record?.status, input.status, `${input.name}: audited with its status`)
    t.equal(record?.errorCode, input.code, `${input.name}: audited with its code`)
    t.equal(record?.upstreamStatus, null, `${input.name}: audited as not forwarded`)
    t.equal(record?.method, input.method, `${input.name}: audited with its method`)
    t.equal(record?.clientAborted, false, `${input.name}: audited as answered`)
  }
})
