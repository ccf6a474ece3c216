// The process logger. Redaction is the last line of defence: the proxy never logs headers or
// tokens on purpose, and these paths keep them out even if a future log line carries one. Audit
// lines alone skip it (auditLineLogger): their fields are fixed, and a test holds them to that.
import { tracingChannel } from 'node:diagnostics_channel'
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

const { chindingsSym, endSym, errorKeySym, formattersSym, hooksSym, lsCacheSym, messageKeySym, mixinSym, needsMetadataGsym, nestedKeySym, serializersSym, streamSym, stringifiersSym, timeSym, wildcardFirstSym } = pino.symbols
/** Where pino tells whoever listens (an APM agent) about each line it serializes. */
const PINO_LINES = tracingChannel('pino_asJson')
const INFO = 30

/** Whether pino would write an audit line exactly as writeAuditLine does: no hook, mixin, formatter or serializer reshapes it. */
const plainLoggers = new WeakMap<object, boolean>()
function writesPlainLines (log: FastifyBaseLogger): boolean {
  let plain = plainLoggers.get(log)
  if (plain === undefined) {
    const internals = log as unknown as Record<symbol, unknown>
    const serializers = internals[serializersSym] as Record<string, unknown> | undefined
    const stringifiers = internals[stringifiersSym] as Record<string | symbol, unknown> | undefined
    const stream = internals[streamSym] as Record<symbol, unknown> | undefined
    const hooks = internals[hooksSym] as { streamWrite?: unknown, logMethod?: unknown } | undefined
    plain = typeof internals[timeSym] === 'function' && typeof internals[chindingsSym] === 'string' && stream !== undefined &&
      stream[needsMetadataGsym] !== true && internals[mixinSym] == null && hooks?.streamWrite == null && hooks?.logMethod == null &&
      (internals[formattersSym] as { log?: unknown } | undefined)?.log == null &&
      (log as unknown as Logger).msgPrefix === undefined && internals[nestedKeySym] == null &&
      !['requestId', 'audit'].includes(internals[errorKeySym] as string) &&
      internals[messageKeySym] === 'msg' && serializers !== undefined && stringifiers !== undefined &&
      ['requestId', 'audit', 'msg'].every((key) => serializers[key] === undefined && stringifiers[key] === undefined) &&
      stringifiers[wildcardFirstSym] === undefined
    plainLoggers.set(log, plain)
  }
  return plain
}

/**
 * Writes an audit line, `log.info({ requestId, audit: record }, 'audit')`, with the record's JSON
 * as the trail made it (`recordJson`, JSON.stringify(record)): pino would serialize the record a
 * second time. The line is byte for byte the one pino writes (test/logger.test.ts compares them);
 * a logger that would reshape it (a hook, a mixin, a formatter, a prefix), or a listener to pino's
 * lines, gets the record through pino.
 */
export function writeAuditLine (log: FastifyBaseLogger, requestId: string, record: object, recordJson: string): void {
  if (!writesPlainLines(log) || PINO_LINES.hasSubscribers) {
    log.info({ requestId, audit: record }, 'audit')
    return
  }
  if ((log as unknown as Logger).levelVal > INFO) return
  const internals = log as unknown as Record<symbol, unknown>
  const time = (internals[timeSym] as () => string)()
  const line = `${(internals[lsCacheSym] as Record<number, string>)[INFO] as string}${time}${internals[chindingsSym] as string},"requestId":${JSON.stringify(requestId)},"audit":${recordJson},"msg":"audit"${internals[endSym] as string}`
  ;(internals[streamSym] as { write: (line: string) => void }).write(line)
}
