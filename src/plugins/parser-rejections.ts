// Requests Node's HTTP parser gives up on (malformed HTTP, headers too large, a request not
// arrived within its timeout, a body cut short): each is counted by reason, answered with the
// proxy's JSON error, and its connection closed. One already being handled is answered through
// the app, so that its own audit record says how it ended; one that never became a request gets
// a compact audit record of its own: no actor, the reason, the source address.
import { randomUUID } from 'node:crypto'
import type { ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyError } from 'fastify'
import { newAuditId } from '../audit/audit-id.js'
import { HeadersTooLarge, IncompleteBody, MalformedHttp, RequestTimeout } from '../errors.js'
import { writeRecord, type AuditWriters } from './audit.js'
import type { PARSER_REJECTION_REASONS } from '../metrics/metrics.js'
import { STATUS_CODES } from '../net/node-http.js'

export type ParserRejectionReason = typeof PARSER_REJECTION_REASONS[number]

export interface ParserRejectionOptions {
  writers: Pick<AuditWriters, 'log' | 'trail'>
  /** Told of every rejection (the metrics count them by reason). */
  count: (reason: ParserRejectionReason) => void
  /** The limits named in the 408's message: the headers' while no request exists yet, else the whole request's. */
  headersTimeoutMs: number
  requestTimeoutMs: number
}

/** The compact record of a rejection that never became a request. */
export interface ParserRejectionRecord {
  auditId: string
  requestId: string
  stage: 'completed'
  method: null
  action: null
  route: null
  resource: Record<string, never>
  sourceIp: string
  actor: null
  status: number
  errorCode: string
  reason: ParserRejectionReason
}

/** A socket as the HTTP server keeps it: the answer to the request it is handling, if one is. */
type ServerSocket = Socket & { _httpMessage?: ServerResponse | null }

function reasonOf (code: string | undefined, handling: boolean): ParserRejectionReason {
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return 'request_timeout'
  if (code === 'HPE_HEADER_OVERFLOW') return 'headers_too_large'
  // The peer stopped sending: inside a body that is a short body; inside the headers, broken HTTP.
  if (code === 'HPE_INVALID_EOF_STATE' && handling) return 'incomplete_body'
  return 'malformed'
}

function errorFor (reason: ParserRejectionReason, timeoutMs: number): FastifyError {
  switch (reason) {
    case 'request_timeout': return new RequestTimeout(timeoutMs)
    case 'headers_too_large': return new HeadersTooLarge()
    case 'incomplete_body': return new IncompleteBody()
    case 'malformed': return new MalformedHttp()
  }
}

/** Fastify's clientErrorHandler. */
export function parserRejectionHandler (options: ParserRejectionOptions) {
  return (error: NodeJS.ErrnoException, socket: ServerSocket): void => {
    // A peer that reset the connection has left: nothing was rejected, and nothing can be answered.
    if (error.code === 'ECONNRESET' || socket.destroyed) return
    const handling = socket._httpMessage ?? undefined
    const reason = reasonOf(error.code, handling !== undefined)
    options.count(reason)
    if (handling === undefined) {
      answerUnhandled(socket, errorFor(reason, options.headersTimeoutMs), reason, options.writers)
      return
    }
    // The body's reader (Fastify's parser) takes the error to the error handler, which answers it
    // and audits the request; its answer closes the connection.
    if (!handling.headersSent && handling.req.listenerCount('error') > 0) {
      handling.shouldKeepAlive = false
      handling.req.emit('error', errorFor(reason, options.requestTimeoutMs))
      return
    }
    // An answer already under way, or a request not reading its body: its record says 499.
    socket.destroy()
  }
}

/** Answers on the socket itself (no request exists), writes the compact record, and closes. */
function answerUnhandled (socket: ServerSocket, error: FastifyError, reason: ParserRejectionReason, writers: ParserRejectionOptions['writers']): void {
  const status = Number(error.statusCode)
  const record: ParserRejectionRecord = {
    auditId: newAuditId(),
    requestId: randomUUID(),
    stage: 'completed',
    method: null,
    action: null,
    route: null,
    resource: {},
    // A socket not yet destroyed knows its peer.
    sourceIp: socket.remoteAddress as string,
    actor: null,
    status,
    errorCode: error.code,
    reason
  }
  try {
    writeRecord(writers, 'completed', record)
  } catch {
    // The trail is full and says so itself; the count in /metrics still shows the rejection.
  }
  if (socket.writable) {
    const body = JSON.stringify({ statusCode: status, code: error.code, error: STATUS_CODES[status], message: error.message, requestId: record.requestId })
    socket.write(`HTTP/1.1 ${status} ${String(STATUS_CODES[status])}\r\n` +
      'Content-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      `X-Request-Id: ${record.requestId}\r\nAudit-Id: ${record.auditId}\r\n` +
      `Connection: close\r\n\r\n${body}`)
  }
  socket.destroy()
}
