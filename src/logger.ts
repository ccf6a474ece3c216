// The process logger. Redaction is the last line of defence: the proxy never logs headers or
// tokens on purpose, and these paths keep them out even if a future log line carries one. Audit
// lines alone skip it (auditLineLogger): their fields are fixed, and a test holds them to that.
import { pino, type DestinationStream, type Logger } from 'pino'
import type { FastifyBaseLogger } from 'fastify'

export const REDACTED_PATHS = [
  'authorization', '*.authorization', 'headers.authorization', 'req.headers.authorization',
  'cookie', '*.cookie', 'headers.cookie', 'req.headers.cookie', 'headers["set-cookie"]',
  'token', '*.token', 'password', '*.password', 'secret', '*.secret',
  'headers["x-pomerium-jwt-assertion"]', 'headers["x-goog-iap-jwt-assertion"]', 'headers["cf-access-jwt-assertion"]',
  'download_url', '*.download_url', 'view_url', '*.view_url'
]

export function createLogger (options: { level: string, destination?: DestinationStream }): Logger {
  const settings = {
    level: options.level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    base: { service: 'codeocean-proxy' }
  }
  return options.destination === undefined ? pino(settings) : pino(settings, options.destination)
}

/**
 * The audit lines' logger: at info whatever LOG_LEVEL says, and without the redaction pass. An
 * audit line is built field by field from fixed record types (ids, HMACs, the caller, the
 * outcome) that no redacted path names, so the pass would change nothing: it would only copy
 * both lines of every request (some 15 µs of CPU). test/logger.test.ts holds the record types to that.
 */
export function auditLineLogger (logger: FastifyBaseLogger): FastifyBaseLogger {
  return logger.child({}, { level: 'info', redact: { paths: [] } })
}
