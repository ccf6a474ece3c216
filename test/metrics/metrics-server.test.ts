// /metrics on a port of its own: only GET /metrics is served there, and a failed collection is a
// 500 with a JSON message rather than a hang.
import t from 'tap'
import { ProxyMetrics } from '../../src/metrics/metrics.js'
import { startMetricsServer } from '../../src/metrics/metrics-server.js'
import { parsePrometheusText, sampleValue } from '../helpers/prometheus.js'

t.test('serves GET /metrics and nothing else', async (t) => {
  const metrics = new ProxyMetrics()
  metrics.requestFinished({ action: 'getComputation', status: 200, durationMs: 3, upstreamAttempts: 1, answerSource: 'upstream', errorCode: null })
  const server = await startMetricsServer(metrics, '127.0.0.1', 0)
  t.teardown(() => server.close())
  const response = await fetch(`${server.url}/metrics?ignored=1`, { signal: AbortSignal.timeout(2_000) })
  t.equal(response.status, 200)
  t.match(response.headers.get('content-type'), /^text\/plain; version=0\.0\.4/)
  const samples = parsePrometheusText(await response.text())
  t.equal(sampleValue(samples, 'codeocean_proxy_request_duration_seconds_count', { operation: 'getComputation', status: '200' }), 1)
  for (const [method, path] of [['GET', '/'], ['POST', '/metrics'], ['GET', '/api/v1/computations']] as const) {
    const other = await fetch(`${server.url}${path}`, { method, signal: AbortSignal.timeout(2_000) })
    t.equal(other.status, 404, `${method} ${path}`)
    t.same(await other.json(), { statusCode: 404, message: 'Only GET /metrics is served on this port.' })
  }
})

t.test('a collection that fails is answered 500', async (t) => {
  const server = await startMetricsServer({ contentType: 'text/plain', exposition: async () => { throw new Error('collect failed') } }, '127.0.0.1', 0)
  t.teardown(() => server.close())
  const response = await fetch(`${server.url}/metrics`, { signal: AbortSignal.timeout(2_000) })
  t.equal(response.status, 500)
  t.same(await response.json(), { statusCode: 500, message: 'The metrics could not be collected.' })
})

t.test('an IPv6 address is written in brackets', async (t) => {
  const server = await startMetricsServer(new ProxyMetrics(), '::1', 0)
  t.teardown(() => server.close())
  t.match(server.url, /^http:\/\/\[::1\]:\d+$/)
})
