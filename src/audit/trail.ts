// The durable audit trail of one proxy instance: records are numbered and hash-chained in the
// order they happen, then written to the store in batches. A mutating call waits until its
// `received` record is committed (flushThrough) before anything is forwarded; reads are written
// in the background. Records that could not be written stay queued and are retried on their own,
// with backoff, until the store answers again; past a bound, new requests are refused rather than
// left unaudited. Appends are idempotent in the store, so a batch whose commit answer was lost is
// simply sent again.
import { randomUUID, type KeyObject } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import type { AuditRow, AuditStore } from '../store/store.js'
import { inSpan } from '../telemetry/spans.js'
import { chainAnchor, checkpointMac, linkHash, type Checkpoint } from './chain.js'
import { indexedColumnsOf } from './indexed-columns.js'

export interface AuditTrailOptions {
  store: AuditStore
  log: FastifyBaseLogger
  /** This instance's chain; a fresh one per process unless given. */
  instanceId?: string
  /** Background writes start this long after the first queued record. */
  flushDelayMs?: number
  /** Queued records past which new records are refused. */
  maxQueued?: number
  /** The clock records are stamped with (ms); default Date.now. */
  now?: () => number
  /** Longest wait between retries of a failed write; default 2000 ms. */
  maxRetryDelayMs?: number
  /** The chain key (chainKeyFrom): links are HMACs under it. Without one, links are plain SHA-256. */
  chainKey?: KeyObject
  /**
   * Where MACed checkpoints of the chain head go (the log stream operators ship off the machine),
   * every checkpointIntervalMs while records are written, and at close. Needs chainKey.
   */
  checkpointLog?: FastifyBaseLogger
  /** Default 60 000 ms. */
  checkpointIntervalMs?: number
}

export class AuditUnavailableError extends Error {
  constructor (options: { cause?: unknown } = {}) {
    super('the audit trail cannot be written', options)
    this.name = 'AuditUnavailableError'
  }
}

/** Closing could not write every record: they are lost, and the process must say so. */
export class AuditRecordsLostError extends Error {
  readonly lost: number
  constructor (lost: number, options: { cause?: unknown } = {}) {
    super(`${lost} audit records could not be written before shutdown`, options)
    this.name = 'AuditRecordsLostError'
    this.lost = lost
  }
}

/** The fields append() adds to every record's text. */
const ADDED_FIELDS = ['recordedAt', 'instanceId', 'seq']

/**
 * Whether a record's own JSON, with append()'s fields added at its end, is the text its copy
 * with them would give: a plain record that names its id and stage already, and none of the rest.
 */
function extendsAsItIs (record: Record<string, unknown>, auditId: string, stage: string): boolean {
  const own = (field: string): boolean => Object.prototype.propertyIsEnumerable.call(record, field)
  return Object.getPrototypeOf(record) === Object.prototype && own('auditId') && own('stage') && record.auditId === auditId &&
    record.stage === stage && !ADDED_FIELDS.some((field) => field in record) && !('toJSON' in record)
}
const FIRST_RETRY_DELAY_MS = 50
/** Tries at writing what is left when closing. */
const CLOSE_ATTEMPTS = 2

export class AuditTrail {
  readonly instanceId: string
  readonly #store: AuditStore
  readonly #log: FastifyBaseLogger
  readonly #flushDelayMs: number
  readonly #maxQueued: number
  /** Places reserved for records still to come (see reserve). */
  #reserved = 0
  readonly #now: () => number
  #seq = 0
  #head: string
  #queue: AuditRow[] = []
  #written = 0
  #flushing: Promise<void> | undefined
  #timer: NodeJS.Timeout | undefined
  readonly #maxRetryDelayMs: number
  #retryDelayMs = 0
  #failure: unknown
  #closing = false
  readonly #chainKey: KeyObject | undefined
  readonly #checkpointLog: FastifyBaseLogger | undefined
  readonly #checkpoints: NodeJS.Timeout | undefined
  /** The link of the last record committed, and the seq last vouched for in a checkpoint. */
  #writtenHash: string
  #checkpointed = 0

  constructor (options: AuditTrailOptions) {
    this.instanceId = options.instanceId ?? randomUUID()
    this.#store = options.store
    this.#log = options.log
    this.#flushDelayMs = options.flushDelayMs ?? 25
    this.#maxQueued = options.maxQueued ?? 10_000
    this.#now = options.now ?? Date.now
    this.#maxRetryDelayMs = options.maxRetryDelayMs ?? 2_000
    this.#chainKey = options.chainKey
    this.#head = chainAnchor(this.instanceId, this.#chainKey)
    this.#writtenHash = this.#head
    if (this.#chainKey !== undefined && options.checkpointLog !== undefined) {
      this.#checkpointLog = options.checkpointLog
      this.#checkpoints = setInterval(() => { this.#checkpoint() }, options.checkpointIntervalMs ?? 60_000).unref()
    }
  }

  /** Records waiting to be written; at queueLimit (with the places reserved), new records are refused. */
  get queued (): number {
    return this.#queue.length
  }

  /**
   * Reserves a place for a record to be appended later (a request's completed record), so that
   * a request let in is never answered unaudited for want of room at its end. Throws
   * AuditUnavailableError when the queue, with the places already reserved, is full.
   */
  reserve (): void {
    if (this.#queue.length + this.#reserved >= this.#maxQueued) throw new AuditUnavailableError()
    this.#reserved++
  }

  /** Gives back a reserved place that will not be used. */
  release (): void {
    if (this.#reserved > 0) this.#reserved--
  }

  get queueLimit (): number {
    return this.#maxQueued
  }

  /** Why the last write failed, while writes are failing; undefined once one succeeds. */
  get failure (): unknown {
    return this.#failure
  }

  /** Continues this instance's chain where the store has it (a fixed instanceId after a restart). */
  async resume (): Promise<void> {
    const head = await this.#store.chainHead(this.instanceId)
    if (head !== undefined) {
      this.#seq = head.seq
      this.#head = head.hash
      this.#written = head.seq
      this.#writtenHash = head.hash
    }
  }

  /**
   * Adds a record to the chain and queues it for writing, in a place reserved for it or a free
   * one; returns its sequence number. `fieldsJson`, when given, is JSON.stringify(fields), made
   * once by a caller that logs it too.
   */
  append (stage: AuditRow['stage'], auditId: string, fields: object, reserved = false, fieldsJson?: string): number {
    // Read, never kept or changed: callers pass their records as they are, without a copy.
    const record = fields as Record<string, unknown>
    if (!reserved && this.#queue.length + this.#reserved >= this.#maxQueued) throw new AuditUnavailableError()
    const seq = ++this.#seq
    const recordedAt = new Date(this.#now()).toISOString()
    // The text hashed and stored: verifying reads it back as it is, so it need not be canonical,
    // and JSON.stringify without a replacer is several times cheaper than sorting every object.
    const body = fieldsJson !== undefined && extendsAsItIs(record, auditId, stage)
      ? `${fieldsJson.slice(0, -1)},"recordedAt":"${recordedAt}","instanceId":${JSON.stringify(this.instanceId)},"seq":${seq}}`
      : JSON.stringify({ ...record, auditId, stage, recordedAt, instanceId: this.instanceId, seq })
    const hash = linkHash(this.#head, seq, body, this.#chainKey)
    this.#queue.push({ instanceId: this.instanceId, seq, auditId, stage, recordedAt, body, prevHash: this.#head, hash, ...indexedColumnsOf(record) })
    this.#head = hash
    if (reserved) this.release()
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
      this.#writtenHash = (batch.at(-1) as AuditRow).hash
      if (this.#failure !== undefined) this.#log.info({ queued: this.#queue.length }, 'audit records are being written again')
      this.#failure = undefined
      this.#retryDelayMs = 0
    }, (error: unknown) => {
      this.#log.error({ err: error, queued: this.#queue.length }, 'audit records could not be written; they stay queued')
      this.#failure = error
      throw new AuditUnavailableError({ cause: error })
    }).finally(() => {
      this.#flushing = undefined
      if (this.#failure !== undefined) this.#retryLater()
    })
    await this.#flushing
  }

  /** Vouches, in the log stream, for the committed head of the chain, if it moved since the last time. */
  #checkpoint (): void {
    if (this.#checkpointLog === undefined || this.#chainKey === undefined || this.#written === this.#checkpointed) return
    const checkpoint: Checkpoint = {
      instanceId: this.instanceId,
      seq: this.#written,
      hash: this.#writtenHash,
      mac: checkpointMac(this.#chainKey, this.instanceId, this.#written, this.#writtenHash)
    }
    this.#checkpointLog.info({ auditCheckpoint: checkpoint }, 'audit checkpoint')
    this.#checkpointed = this.#written
  }

  /** After a failed write, tries again on its own, backing off, so the trail heals when the store does. */
  #retryLater (): void {
    if (this.#timer !== undefined || this.#closing) return
    this.#retryDelayMs = Math.min(this.#maxRetryDelayMs, Math.max(FIRST_RETRY_DELAY_MS, this.#retryDelayMs * 2))
    this.#timer = setTimeout(() => { this.#timer = undefined; void this.flush().catch(() => {}) }, this.#retryDelayMs).unref()
  }

  /**
   * Writes what is left, trying once more after a failure (a lost commit answer heals on the
   * retry). Records that still cannot be written are logged as lost and rejected with
   * AuditRecordsLostError, so the process exits non-zero rather than report a clean shutdown.
   */
  async close (): Promise<void> {
    this.#closing = true
    clearTimeout(this.#timer)
    clearInterval(this.#checkpoints)
    this.#timer = undefined
    for (let attempt = 1; ; attempt++) {
      try {
        await this.flushThrough(this.#seq)
        this.#checkpoint()
        return
      } catch (error) {
        if (attempt < CLOSE_ATTEMPTS) {
          await new Promise((resolve) => setTimeout(resolve, this.#maxRetryDelayMs / 2))
          continue
        }
        const lost = this.#queue.length
        this.#checkpoint()
        this.#log.error({ lost, err: error }, 'audit records lost at shutdown: the store could not be written')
        throw new AuditRecordsLostError(lost, { cause: error })
      }
    }
  }
}
