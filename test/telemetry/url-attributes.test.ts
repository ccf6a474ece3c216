// Span URL attributes keep paths and query names, never query values.
import t from 'tap'
import { incomingUrlAttributes, outgoingUrlAttributes, redactedQuery } from '../../src/telemetry/url-attributes.js'

t.test('every query value is replaced, each name kept as often as it came', async (t) => {
  t.equal(redactedQuery('?name=secret&path=a%2Fb&path=c'), '?name=REDACTED&path=REDACTED&path=REDACTED')
  t.equal(redactedQuery('?flag'), '?flag=REDACTED')
  t.equal(redactedQuery(''), '')
  t.equal(redactedQuery('?'), '')
})

t.test('an incoming request target is split into its path and its redacted query', async (t) => {
  t.same(incomingUrlAttributes('/api/v1/computations/abc?name=secret'), { 'url.path': '/api/v1/computations/abc', 'url.query': '?name=REDACTED' })
  t.same(incomingUrlAttributes('/api/v1/computations/abc'), { 'url.path': '/api/v1/computations/abc' })
})

t.test('an outgoing call keeps its origin and path, with the query redacted in url.full too', async (t) => {
  t.same(outgoingUrlAttributes('https://codeocean.example.com', '/api/v1/computations/abc/results/urls?path=secret.txt'), {
    'url.full': 'https://codeocean.example.com/api/v1/computations/abc/results/urls?path=REDACTED',
    'url.path': '/api/v1/computations/abc/results/urls',
    'url.query': '?path=REDACTED'
  })
  t.same(outgoingUrlAttributes('https://codeocean.example.com', '/api/v1/computations/abc'), {
    'url.full': 'https://codeocean.example.com/api/v1/computations/abc', 'url.path': '/api/v1/computations/abc', 'url.query': ''
  })
})
