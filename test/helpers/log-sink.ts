// Captures the app's pino output as parsed lines, so tests can assert audit records and the
// absence of secrets in everything the proxy logged.
import { Writable } from 'node:stream'
import type { Logger } from 'pino'
import type { AuditRecord, ReceivedRecord } from '../../src/audit/request-audit.js'
import { createLogger } from '../../src/logger.js'

export interface LogSink {
  logger: Logger
  /** Every line written so far, raw. */
  text (): string
  lines (): Array<Record<string, unknown>>
  /** The `completed` audit records: one per request. */
  audits (): AuditRecord[]
  /** Every audit line, `received` and `completed`, in order. */
  auditLines (): Array<AuditRecord | ReceivedRecord>
}

export function createLogSink (level = 'info'): LogSink {
  const chunks: string[] = []
  const destination = new Writable({
    write (chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString())
      callback()
    }
  })
  const logger = createLogger({ level, destination })
  const text = (): string => chunks.join('')
  const lines = (): Array<Record<string, unknown>> =>
    text().split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as Record<string, unknown>)
  return {
    logger,
    text,
    lines,
    audits: () => lines().flatMap((line) => (line.audit as AuditRecord | undefined)?.stage === 'completed' ? [line.audit as AuditRecord] : []),
    auditLines: () => lines().flatMap((line) => line.audit === undefined ? [] : [line.audit as AuditRecord | ReceivedRecord])
  }
}
