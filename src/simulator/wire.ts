// HTTP plumbing shared by the simulator's routes: reading bodies, splitting request targets,
// and answering so that every answer is also written into the request's record.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { RecordedRequest } from './types.js'

/** One request being handled, with the record tests will read. */
export interface Exchange {
  readonly req: IncomingMessage
  readonly res: ServerResponse
  readonly record: RecordedRequest
  /** Headers a fault asked to add to whatever is answered. */
  extraHeaders: Record<string, string>
}

/** Thrown by handlers to answer with a JSON `{"message": …}` error. */
export class HttpError extends Error {
  readonly status: number
  readonly headers: Record<string, string>

  constructor (status: number, message: string, headers: Record<string, string> = {}) {
    super(message)
    this.name = 'HttpError'
    this.status = status
    this.headers = headers
  }
}

export interface ReadBody {
  text: string
  tooLarge: boolean
}

/**
 * Reads the whole body; past `limit` bytes it keeps draining (so the answer can still be sent on
 * the same connection) but stops keeping them.
 */
export function readBody (req: IncomingMessage, limit: number): Promise<ReadBody> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    let tooLarge = false
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) tooLarge = true
      if (!tooLarge) chunks.push(chunk)
    })
    req.on('end', () => resolve({ text: tooLarge ? '' : Buffer.concat(chunks).toString('utf8'), tooLarge }))
    req.on('error', reject)
    // A client that goes away mid-body never emits 'end'.
    req.on('close', () => {
      if (!req.complete) reject(new Error('request closed before its body was read'))
    })
  })
}

export interface Target {
  path: string
  query: Record<string, string>
}

/** Splits a request target; URLSearchParams gives the form-encoding rules real clients use ('+' is a space). */
export function splitTarget (url: string): Target {
  const mark = url.indexOf('?')
  if (mark === -1) return { path: url, query: {} }
  return { path: url.slice(0, mark), query: Object.fromEntries(new URLSearchParams(url.slice(mark + 1))) }
}

export function parseJson (text: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return undefined
  }
}

export function isRecord (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

const BODYLESS_STATUSES = new Set([204, 304])

export function send (ex: Exchange, status: number, body: string | Buffer, headers: Record<string, string> = {}): void {
  const bytes = BODYLESS_STATUSES.has(status) ? Buffer.alloc(0) : Buffer.from(body)
  const all: Record<string, string> = {}
  for (const [name, value] of Object.entries({ ...headers, ...ex.extraHeaders })) all[name.toLowerCase()] = value
  if (!BODYLESS_STATUSES.has(status)) all['content-length'] = String(bytes.length)
  ex.record.response = { status, headers: all, bodyText: bytes.toString('utf8') }
  ex.res.writeHead(status, all)
  ex.res.end(bytes)
}

export function sendJson (ex: Exchange, status: number, value: unknown, headers: Record<string, string> = {}): void {
  send(ex, status, JSON.stringify(value), { 'content-type': 'application/json', ...headers })
}

export function sendError (ex: Exchange, status: number, message: string, headers: Record<string, string> = {}): void {
  sendJson(ex, status, { message }, headers)
}

export function sendNoContent (ex: Exchange): void {
  send(ex, 204, '')
}
