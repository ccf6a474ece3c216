// /metrics on a port of its own (METRICS_PORT), so the scrape endpoint need not be reachable
// wherever the API is. Answers GET /metrics and nothing else.
import type { Server } from 'node:http'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import type { ProxyMetrics } from './metrics.js'
import { createServer } from '../net/node-http.js'

/** What the server needs of ProxyMetrics. */
export interface ExposedMetrics {
  readonly contentType: string
  exposition: ProxyMetrics['exposition']
}

export interface MetricsServer {
  /** e.g. http://127.0.0.1:9464 */
  readonly url: string
  close (): Promise<void>
}

function answer (metrics: ExposedMetrics, method: string | undefined, path: string): Promise<{ status: number, type: string, body: string }> {
  if (method !== 'GET' || path !== '/metrics') {
    return Promise.resolve({ status: 404, type: 'application/json; charset=utf-8', body: JSON.stringify({ statusCode: 404, message: 'Only GET /metrics is served on this port.' }) })
  }
  return metrics.exposition().then((body) => ({ status: 200, type: metrics.contentType, body }))
}

export async function startMetricsServer (metrics: ExposedMetrics, host: string, port: number): Promise<MetricsServer> {
  const server: Server = createServer((request, response) => {
    const path = String(request.url).split('?')[0] as string
    void answer(metrics, request.method, path).then(({ status, type, body }) => {
      response.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) }).end(body)
    }, () => {
      response.writeHead(500, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify({ statusCode: 500, message: 'The metrics could not be collected.' }))
    })
  })
  // A scraper keeps its connection open; closing must not wait for it.
  server.keepAliveTimeout = 5_000
  server.listen(port, host)
  await once(server, 'listening')
  const address = server.address() as AddressInfo
  const hostPart = address.family === 'IPv6' ? `[${address.address}]` : address.address
  return {
    url: `http://${hostPart}:${address.port}`,
    async close () {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}
