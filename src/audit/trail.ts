// The durable audit trail of one proxy instance: records are numbered and hash-chained in the
// order they happen, then written to the store in batches. A mutating call waits until its
// `received` record is committed (flushThrough) before anything is forwarded; reads are written
// in the background. Records that could not be written stay queued and are retried, up to a
// bound; past it, new requests are refused rather than left unaudited.
import { randomUUID } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import type { AuditRow, Store } from '../store/store.js'
import { inSpan } from '../telemetry/spans.js'
import { canonicalJson, chainAnchor, linkHash } from './chain.js'

export interface AuditTrailOptions {
  store: Store
  log: FastifyBaseLogger
  /** This instance's chain; a fresh one per process unless given. */
  instanceId?: string
  /** Background writes start this long after the first queued record. */
  flushDelayMs?: number
  /** Queued records past which new records are refused. */
  maxQueued?: number
  /** The clock records are stamped with (ms); default Date.now. */
  now?: () => number
}

export class AuditUnavailableError extends Error {
  constructor (options: { cause?: unknown } = {}) {
    super('the audit trail cannot be written', options)
    this.name = 'AuditUnavailableError'
  }
}

export class AuditTrail {
  readonly instanceId: string
  readonly #store: Store
  readonly #log: FastifyBaseLogger
  readonly #flushDelayMs: number
  readonly #maxQueued: number
  readonly #now: () => number
  #seq = 0
  #head: string
  #queue: AuditRow[] = []
  #written = 0
  #flushing: Promise<void> | undefined
  #timer: NodeJS.Timeout | undefined

  constructor (options: AuditTrailOptions) {
    this.instanceId = options.instanceId ?? randomUUID()
    this.#store = options.store
    this.#log = options.log
    this.#flushDelayMs = options.flushDelayMs ?? 25
    this.#maxQueued = options.maxQueued ?? 10_000
    this.#now = options.now ?? Date.now
    this.#head = chainAnchor(this.instanceId)
  }

  /** Records waiting to be written; at queueLimit, new records are refused. */
  get queued (): number {
    return this.#queue.length
  }

  get queueLimit (): number {
    return this.#maxQueued
  }

  /** Continues this instance's chain where the store has it (a fixed instanceId after a restart). */
  async resume (): Promise<void> {
    const head = await this.#store.chainHead(this.instanceId)
    if (head !== undefined) {
      this.#seq = head.seq
      this.#head = head.hash
      this.#written = head.seq
    }
  }

  /** Adds a record to the chain and queues it for writing; returns its sequence number. */
  append (stage: AuditRow['stage'], auditId: string, fields: object): number {
    // Read, never kept or changed: callers pass their records as they are, without a copy.
    const record = fields as Record<string, unknown>
    if (this.#queue.length >= this.#maxQueued) throw new AuditUnavailableError()
    const seq = ++this.#seq
    const recordedAt = new Date(this.#now()).toISOString()
    const body = canonicalJson({ ...record, auditId, stage, recordedAt, instanceId: this.instanceId, seq })
    const hash = linkHash(this.#head, seq, body)
    const resource = (record.resource ?? {}) as Record<string, unknown>
    const text = (value: unknown): string | null => typeof value === 'string' ? value : null
    const actor = (record.actor ?? {}) as Record<string, unknown>
    this.#queue.push({
      instanceId: this.instanceId,
      seq,
      auditId,
      stage,
      recordedAt,
      body,
      prevHash: this.#head,
      hash,
      action: text(record.action),
      computationId: text(resource.computation_id),
      capsuleId: text(resource.capsule_id),
      pipelineId: text(resource.pipeline_id),
      status: typeof record.status === 'number' ? record.status : null,
      actor: text(actor.subject)
    })
    this.#head = hash
    this.#timer ??= setTimeout(() => { this.#timer = undefined; void this.flush().catch(() => {}) }, this.#flushDelayMs).unref()
    return seq
  }

  /** Resolves once every record up to `seq` is committed; rejects with AuditUnavailableError otherwise. */
  async flushThrough (seq: number): Promise<void> {
    while (this.#written < seq) await this.flush()
  }

  /** Writes what is queued, one batch at a time. */
  async flush (): Promise<void> {
    if (this.#flushing !== undefined) {
      await this.#flushing
      return
    }
    const batch = this.#queue.slice()
    if (batch.length === 0) return
    // One span per batch: its records come from many requests, it belongs to the one that started it.
    this.#flushing = inSpan('audit write', async (span) => {
      span.setAttribute('audit.records', batch.length)
      await this.#store.appendAudit(batch)
    }).then(() => {
      this.#queue.splice(0, batch.length)
      this.#written = (batch.at(-1) as AuditRow).seq
    }, (error: unknown) => {
      this.#log.error({ err: error, queued: this.#queue.length }, 'audit records could not be written; they stay queued')
      throw new AuditUnavailableError({ cause: error })
    }).finally(() => { this.#flushing = undefined })
    await this.#flushing
  }

  /** Writes what is left; records that still cannot be written are reported, not silently lost. */
  async close (): Promise<void> {
    clearTimeout(this.#timer)
    try {
      await this.flushThrough(this.#seq)
    } catch {
      this.#log.error({ lost: this.#queue.length }, 'audit records lost at shutdown: the store could not be written')
    }
  }
}
