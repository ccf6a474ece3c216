// How a keyed run's ending is written to its key, and how a completed key's answer is replayed:
// the store writes behind Idempotency-Key, retried where they are safe to repeat.
import type { KeyObject } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import type { IdempotencyRow, IdempotencyStore } from '../store/store.js'
import type { BufferedAnswer } from '../upstream/coalesce.js'
import { nothingSent, type UpstreamOutcome } from '../upstream/outcome.js'
import { settlementFor } from './idempotency.js'
import { openAnswer, sealAnswer } from './sealed-answers.js'

/** Store writes that are safe to repeat are tried this often, further apart each time, before giving up. */
const WRITE_ATTEMPTS = 3
const WRITE_RETRY_MS = 200
const PRUNE_BATCH = 1000

/** One caller's key: the same key from two subjects is two keys. */
export interface KeyOf { subject: string, key: string }

/** Runs an idempotent store write, again after a failure (a lost answer, a blip), a few times. */
export async function persistently (write: () => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await write()
      return
    } catch (error) {
      if (attempt === WRITE_ATTEMPTS) throw error
      await new Promise((resolve) => setTimeout(resolve, WRITE_RETRY_MS * attempt))
    }
  }
}

/**
 * What a run's ending does to its key (see settlementFor), from what became of its call and the
 * answer captured whole: an answer that started but could not be read whole is not one to replay.
 */
export function fateOf (outcome: UpstreamOutcome | undefined, captured: BufferedAnswer | undefined): 'complete' | 'release' | 'unknown' {
  if (outcome === undefined || nothingSent(outcome)) return 'release'
  const fate = settlementFor({
    forwarded: true,
    upstreamStatus: outcome.status,
    errorClass: outcome.kind === 'failure' ? outcome.failure.errorClass : undefined
  })
  return fate === 'complete' && captured === undefined ? 'unknown' : fate
}

function replayHeaders (headers: BufferedAnswer['headers']): Record<string, string> {
  // A repeated header (none of Code Ocean's allowlisted ones is) would come back comma-joined.
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, String(value)]))
}

export interface Ending {
  fate: 'complete' | 'release' | 'unknown'
  /** The answer read whole, replayed to later retries when the fate is complete. */
  captured: BufferedAnswer | undefined
  /** The status Code Ocean answered, kept with an unknown fate. */
  status: number | undefined
  computationId: string | undefined
}

/**
 * Writes how the run ended to its key (both writes are idempotent, so one whose answer was lost
 * is simply made again). Sealed with `answerKey`, so an edited row is never replayed.
 */
export async function settleKey (store: IdempotencyStore, { subject, key }: KeyOf, ending: Ending, answerKey: KeyObject, at: Date): Promise<void> {
  const { fate, captured } = ending
  await persistently(async () => {
    if (fate === 'release') {
      await store.releaseIdempotencyKey(subject, key)
      return
    }
    await store.settleIdempotencyKey(subject, key, {
      state: fate === 'complete' ? 'completed' : 'unknown',
      status: captured?.status ?? ending.status ?? null,
      headers: captured === undefined ? null : replayHeaders(captured.headers),
      body: captured === undefined ? null : sealAnswer(answerKey, subject, key, captured.body.toString('utf8')),
      computationId: ending.computationId ?? null,
      at: at.toISOString()
    })
  })
}

/** A completed key's answer to send again; undefined when it cannot be opened (sealed under another key, or edited). */
export function replayOf (row: IdempotencyRow, answerKey: KeyObject): { status: number, headers: Record<string, string>, body: string } | undefined {
  const body = openAnswer(answerKey, row.subject, row.key, String(row.body))
  if (body === undefined) return undefined
  return { status: Number(row.status), headers: row.headers as Record<string, string>, body }
}

/**
 * Forgets every key past its expiry (stored answers with it), a batch at a time until none is
 * left, so the table never grows past a day's keys; a store that cannot is tried again next time.
 */
export async function pruneExpiredKeys (store: IdempotencyStore, log: FastifyBaseLogger): Promise<void> {
  const before = new Date().toISOString()
  try {
    while (await store.pruneIdempotencyKeys(before, PRUNE_BATCH) === PRUNE_BATCH);
  } catch (error) {
    log.warn({ err: error }, 'expired idempotency keys could not be pruned; trying again later')
  }
}
