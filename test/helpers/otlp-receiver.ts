// A stand-in OpenTelemetry collector on loopback: takes OTLP/HTTP JSON posts to /v1/traces (what
// @opentelemetry/exporter-trace-otlp-http sends) and keeps every span, flattened, and every body.
import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Test } from 'tap'

export interface ReceivedSpan {
  traceId: string
  spanId: string
  /** '' for a root span. */
  parentSpanId: string
  name: string
  /** OTLP's number: 1 internal, 2 server, 3 client. */
  kind: number
  attributes: Record<string, unknown>
  /** The resource's attributes (service.name, …). */
  resource: Record<string, unknown>
}

export interface OtlpReceiver {
  /** The base URL, as OTEL_EXPORTER_OTLP_ENDPOINT takes it. */
  url: string
  spans: ReceivedSpan[]
  /** Every request body, raw, for looking for secrets. */
  bodies: string[]
  /** The status the next posts are answered with (200 by default). */
  status: number
  close (): Promise<void>
}

interface OtlpKeyValue { key: string, value: Record<string, unknown> }
interface OtlpExport {
  resourceSpans?: Array<{
    resource?: { attributes?: OtlpKeyValue[] }
    scopeSpans?: Array<{ spans?: Array<{ traceId: string, spanId: string, parentSpanId?: string, name: string, kind: number, attributes?: OtlpKeyValue[] }> }>
  }>
}

/** OTLP/JSON's typed values ({ stringValue: 'x' }, { intValue: 3 }, …) as plain ones. */
function attributesOf (list: OtlpKeyValue[] = []): Record<string, unknown> {
  return Object.fromEntries(list.map(({ key, value }) => [key, Object.values(value)[0]]))
}

export async function startOtlpReceiver (t: Test): Promise<OtlpReceiver> {
  const receiver: Omit<OtlpReceiver, 'url' | 'close'> = { spans: [], bodies: [], status: 200 }
  const server = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      receiver.bodies.push(body)
      if (request.method !== 'POST' || request.url !== '/v1/traces' || request.headers['content-type'] !== 'application/json') {
        response.writeHead(404).end()
        return
      }
      for (const resourceSpans of (JSON.parse(body) as OtlpExport).resourceSpans ?? []) {
        const resource = attributesOf(resourceSpans.resource?.attributes)
        for (const scope of resourceSpans.scopeSpans ?? []) {
          for (const span of scope.spans ?? []) {
            const { traceId, spanId, parentSpanId = '', name, kind } = span
            receiver.spans.push({ traceId, spanId, parentSpanId, name, kind, attributes: attributesOf(span.attributes), resource })
          }
        }
      }
      response.writeHead(receiver.status, { 'content-type': 'application/json' }).end('{}')
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const close = async (): Promise<void> => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  }
  t.teardown(close)
  return Object.assign(receiver, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close })
}
