// Keeps the audit trail to AUDIT_RETENTION_DAYS: every so often the records older than that are
// deleted, a batch at a time so no single statement holds the database for long. Chains lose only
// their beginnings, and verification starts from the oldest record kept.
import type { FastifyBaseLogger } from 'fastify'
import type { AuditStore } from '../store/store.js'

export interface RetentionOptions {
  store: AuditStore
  log: FastifyBaseLogger
  days: number
  /** How often to prune; default hourly. */
  intervalMs?: number
  batchSize?: number
  now?: () => number
}

export interface Retention {
  /** Prunes everything past retention now; resolves with how many records went. */
  pruneNow (): Promise<number>
  stop (): void
}

const DAY_MS = 86_400_000

export function startRetention (options: RetentionOptions): Retention {
  const { store, log, days } = options
  const batchSize = options.batchSize ?? 1000
  const now = options.now ?? Date.now
  let running: Promise<number> | undefined

  const pruneNow = async (): Promise<number> => {
    running ??= (async () => {
      const before = new Date(now() - days * DAY_MS).toISOString()
      let pruned = 0
      for (let deleted = batchSize; deleted === batchSize; pruned += deleted) deleted = await store.pruneAudit(before, batchSize)
      if (pruned > 0) log.info({ pruned, before }, 'audit records past retention deleted')
      return pruned
    })().finally(() => { running = undefined })
    return await running
  }
  const prune = (): void => {
    pruneNow().catch((error: unknown) => log.error({ err: error }, 'audit retention could not prune; will try again'))
  }
  const timer = setInterval(prune, options.intervalMs ?? 3_600_000).unref()
  prune()
  return { pruneNow, stop: () => clearInterval(timer) }
}
