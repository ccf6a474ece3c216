// A gateway's JWKS endpoint on an ephemeral loopback port, whose keys and failures a test sets.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Test } from 'tap'

export type JwksFailure = 'status500' | 'hang' | 'garbage' | null

export interface JwksServer {
  url: string
  /** The body served from now on (any JSON, so tests can serve malformed or oversized sets). */
  setKeys (jwks: object): void
  /** Requests received so far, failed ones included. */
  readonly fetches: number
  /** How the next requests fail; null serves the keys again. */
  fail (mode: JwksFailure): void
  close (): Promise<void>
}

export async function startJwksServer (t: Test): Promise<JwksServer> {
  let body = JSON.stringify({ keys: [] })
  let failure: JwksFailure = null
  let fetches = 0
  const server = createServer((request, response) => {
    fetches++
    request.resume()
    if (failure === 'hang') return
    if (failure === 'status500') {
      response.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"down"}')
      return
    }
    response.writeHead(200, { 'content-type': 'application/json' }).end(failure === 'garbage' ? '<html>not json' : body)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  let closing: Promise<void> | undefined
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve())
      // Hung requests would otherwise keep the server open forever.
      server.closeAllConnections()
    })
    return closing
  }
  t.teardown(close)
  return {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    setKeys (jwks) { body = JSON.stringify(jwks) },
    get fetches () { return fetches },
    fail (mode) { failure = mode },
    close
  }
}
