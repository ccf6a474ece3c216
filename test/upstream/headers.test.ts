// The header allowlists as pure functions: exactly what goes to Code Ocean and what comes back,
// for the headers the proxy knows and for every one it does not.
import t from 'tap'
import { USER_AGENT, callerResponseHeaders, upstreamRequestHeaders } from '../../src/upstream/headers.js'
import { VERSION } from '../../src/version.js'

const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'
const options = { authorization: 'Basic Y29wX1RFU1Q6', requestId: 'req-1', hasBody: false, agentId: 'alice', callerTraceContext: false }

t.test('the proxy names itself, with its version', async (t) => {
  t.equal(USER_AGENT, `codeocean-proxy/${VERSION}`)
})

t.test('of the caller\'s headers only Accept and Min-Server-Version reach Code Ocean; the proxy sets the rest', async (t) => {
  const incoming = {
    accept: 'application/json',
    'min-server-version': '3.0',
    authorization: 'Bearer caller-token',
    cookie: 'session=caller',
    'agent-id': 'mallory',
    'x-request-id': 'caller-chosen',
    'user-agent': 'caller-agent',
    'content-type': 'text/plain',
    'accept-encoding': 'gzip',
    'x-api-key': 'caller-key',
    host: 'example.test'
  }
  t.same(upstreamRequestHeaders(incoming, options), {
    accept: 'application/json',
    'min-server-version': '3.0',
    'accept-encoding': 'identity',
    'user-agent': USER_AGENT,
    'x-request-id': 'req-1',
    'agent-id': 'alice',
    authorization: 'Basic Y29wX1RFU1Q6'
  })
})

t.test('a body is always sent as JSON, and without a body no content type is sent', async (t) => {
  t.equal(upstreamRequestHeaders({}, { ...options, hasBody: true })['content-type'], 'application/json')
  t.notOk('content-type' in upstreamRequestHeaders({ 'content-type': 'application/json' }, options))
})

t.test('an empty Agent-Id is not sent at all', async (t) => {
  t.notOk('agent-id' in upstreamRequestHeaders({ 'agent-id': 'mallory' }, { ...options, agentId: '' }))
})

t.test('a caller\'s trace context passes only while the proxy does not trace, and only in W3C shape', async (t) => {
  const traced = { ...options, callerTraceContext: true }
  t.same(upstreamRequestHeaders({ traceparent: TRACEPARENT, tracestate: 'vendor=1' }, traced), {
    traceparent: TRACEPARENT,
    tracestate: 'vendor=1',
    'accept-encoding': 'identity',
    'user-agent': USER_AGENT,
    'x-request-id': 'req-1',
    'agent-id': 'alice',
    authorization: 'Basic Y29wX1RFU1Q6'
  })
  t.same(upstreamRequestHeaders({ traceparent: TRACEPARENT }, traced).traceparent, TRACEPARENT, 'without a tracestate')
  t.notOk('tracestate' in upstreamRequestHeaders({ traceparent: TRACEPARENT }, traced))

  const untraced = upstreamRequestHeaders({ traceparent: TRACEPARENT, tracestate: 'vendor=1' }, options)
  t.notOk('traceparent' in untraced, 'the proxy traces: its own span writes the header')
  t.notOk('tracestate' in untraced)

  const misshapen = [
    `x${TRACEPARENT}`, `${TRACEPARENT}x`,
    '0-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', '000-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    '00-0af7651916cd43dd8448eb211c80319-b7ad6b7169203331-01', '00-0af7651916cd43dd8448eb211c80319c0-b7ad6b7169203331-01',
    '00-0af7651916cd43dd8448eb211c80319c-b7ad6b716920333-01', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b71692033310-01',
    '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-1', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-010',
    '0g-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', '00-0af7651916cd43dd8448eb211c80319g-b7ad6b7169203331-01',
    '00-0af7651916cd43dd8448eb211c80319c-b7ad6b716920333g-01', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0g',
    '00_0af7651916cd43dd8448eb211c80319c_b7ad6b7169203331_01'
  ]
  for (const traceparent of misshapen) {
    const headers = upstreamRequestHeaders({ traceparent, tracestate: 'vendor=1' }, traced)
    t.notOk('traceparent' in headers || 'tracestate' in headers, traceparent)
  }
})

t.test('a repeated caller header (an array) is not forwarded', async (t) => {
  const headers = upstreamRequestHeaders({ accept: ['a', 'b'] as unknown as string, traceparent: [TRACEPARENT] as unknown as string }, { ...options, callerTraceContext: true })
  t.notOk('accept' in headers)
  t.notOk('traceparent' in headers)
})

const ALLOWED_RESPONSE_HEADERS = [
  'content-type', 'content-length', 'content-encoding', 'content-language', 'cache-control', 'etag', 'last-modified',
  'expires', 'retry-after', 'ratelimit', 'ratelimit-policy', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset',
  'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset', 'deprecation', 'sunset'
]

t.test('every allowlisted response header reaches the caller, under its lower-case name', async (t) => {
  for (const name of ALLOWED_RESPONSE_HEADERS) {
    t.same(callerResponseHeaders({ [name.toUpperCase()]: 'v' }), { [name]: 'v' }, name)
  }
  t.same(callerResponseHeaders({ etag: ['"a"', '"b"'] }), { etag: ['"a"', '"b"'] }, 'a repeated header keeps its values')
})

t.test('every other response header stays behind, and so does one without a value', async (t) => {
  const upstream = {
    'set-cookie': ['session=upstream'],
    server: 'codeocean',
    'x-powered-by': 'upstream',
    via: '1.1 upstream',
    'x-amzn-requestid': 'abc',
    'strict-transport-security': 'max-age=1',
    connection: 'keep-alive',
    'www-authenticate': 'Basic',
    'content-type': undefined
  }
  t.same(Object.keys(callerResponseHeaders(upstream)), [])
})
