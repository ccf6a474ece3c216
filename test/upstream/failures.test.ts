// The mapping from transport failures to proxy errors, for the failures loopback cannot
// produce on demand (connect timeouts, unresolvable hosts, a closed pool).
import t from 'tap'
import { errors } from 'undici'
import { classifyUpstreamFailure } from '../../src/upstream/failures.js'

const timeouts = { connectTimeoutMs: 11, headersTimeoutMs: 22, bodyTimeoutMs: 33 }
const withCode = (code: string): Error => Object.assign(new Error(code), { code })

t.test('each failure maps to its status, code and class, keeping the cause', async (t) => {
  const cases: Array<[unknown, number, string, string, RegExp?]> = [
    [withCode('ECONNREFUSED'), 502, 'PROXY_UPSTREAM_UNREACHABLE', 'refused'],
    [withCode('ENOTFOUND'), 502, 'PROXY_UPSTREAM_UNREACHABLE', 'unreachable'],
    [new AggregateError([withCode('ECONNREFUSED'), withCode('ECONNREFUSED')]), 502, 'PROXY_UPSTREAM_UNREACHABLE', 'refused'],
    [withCode('ECONNRESET'), 502, 'PROXY_UPSTREAM_CONNECTION_RESET', 'reset'],
    [new errors.SocketError('other side closed'), 502, 'PROXY_UPSTREAM_CONNECTION_RESET', 'reset'],
    [new errors.ConnectTimeoutError(), 504, 'PROXY_UPSTREAM_TIMEOUT', 'connect_timeout', /11 ms/],
    [new errors.HeadersTimeoutError(), 504, 'PROXY_UPSTREAM_TIMEOUT', 'timeout', /22 ms/],
    [new errors.BodyTimeoutError(), 504, 'PROXY_UPSTREAM_TIMEOUT', 'timeout', /33 ms/],
    [new errors.ClientClosedError(), 503, 'PROXY_UNAVAILABLE', 'closed'],
    [new errors.ClientDestroyedError(), 503, 'PROXY_UNAVAILABLE', 'closed'],
    [new Error('something new'), 502, 'PROXY_UPSTREAM_PROTOCOL_ERROR', 'protocol'],
    ['not even an error', 502, 'PROXY_UPSTREAM_PROTOCOL_ERROR', 'protocol']
  ]
  for (const [cause, status, code, errorClass, message] of cases) {
    const failure = classifyUpstreamFailure(cause, timeouts)
    const name = `${String((cause as { code?: string }).code ?? cause)}`
    t.equal(failure.error.statusCode, status, `${name}: status`)
    t.equal(failure.error.code, code, `${name}: code`)
    t.equal(failure.errorClass, errorClass, `${name}: class`)
    t.equal(failure.error.cause, cause, `${name}: cause kept`)
    if (message !== undefined) t.match(failure.error.message, message, `${name}: names the timeout`)
  }
})
