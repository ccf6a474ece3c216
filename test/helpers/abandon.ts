// A caller that goes away: the request is sent over a real connection, which is destroyed after
// `afterMs`, or as soon as the first bytes of the answer arrive.
import { request as httpRequest } from 'node:http'

export interface AbandonOptions {
  method?: string
  headers?: Record<string, string>
  /** Sent as JSON. */
  body?: string
  afterMs?: number
}

export async function abandon (url: string, options: AbandonOptions = {}): Promise<void> {
  await new Promise<void>((resolve) => {
    const headers = { ...(options.body === undefined ? {} : { 'content-type': 'application/json' }), ...options.headers }
    const request = httpRequest(url, { method: options.method ?? 'GET', headers }, (response) => {
      response.once('data', () => { request.destroy(); resolve() })
    })
    request.on('error', () => resolve())
    if (options.afterMs !== undefined) setTimeout(() => { request.destroy(); resolve() }, options.afterMs)
    request.end(options.body)
  })
}
