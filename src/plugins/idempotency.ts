// Idempotency keys on runs (the IETF Idempotency-Key header): a run retried with the same key and
// body gets the first run's answer again and never launches a second computation, on whichever
// instance the retry lands (the keys live in the shared store). A retry while the first is still
// out gets 409; one whose first attempt's outcome is unknown gets 409 with advice, never a blind
// second launch; the same key with another body gets 422.
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import {
  IdempotencyInFlight, IdempotencyKeyRequired, IdempotencyKeyReused, IdempotencyOutcomeUnknown, retryAfter
} from '../errors.js'
import { claimFor, idempotencyKeyOf, requestHash, settlementFor, verdictFor } from '../idempotency/idempotency.js'
import { openAnswer, sealAnswer } from '../idempotency/sealed-answers.js'
import { provenIdentity } from '../identity/caller.js'
import type { IdempotencyRow, Store } from '../store/store.js'
import { runTargetOf } from '../policy/targets.js'
import type { BufferedAnswer } from '../upstream/coalesce.js'
import { refusedByTheProxy } from '../upstream/failures.js'
import type { AnswerFilter } from '../upstream/forward.js'

export interface IdempotencyOptions {
  store: Store
  ttlMs: number
  required: boolean
  /** A claim still in flight after this long is taken as lost after sending: its outcome is unknown. */
  staleAfterMs: number
  /** Seals the answers kept for replay (answerKeyFrom the audit key). */
  answerKey: Buffer
}

const PRUNE_EVERY_MS = 3_600_000

function replayHeaders (headers: BufferedAnswer['headers']): Record<string, string> {
  // A repeated header (none of Code Ocean's allowlisted ones is) would come back comma-joined.
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, String(value)]))
}

/** Store writes that are safe to repeat are tried this often, further apart each time, before giving up. */
const WRITE_ATTEMPTS = 3
const WRITE_RETRY_MS = 200

/** Runs an idempotent store write, again after a failure (a lost answer, a blip), a few times. */
async function persistently (write: () => Promise<void>): Promise<void> {
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

const PRUNE_BATCH = 1000

/**
 * Forgets every key past its expiry (stored answers with it), a batch at a time until none is
 * left, so the table never grows past a day's keys; a store that cannot is tried again next time.
 */
export async function pruneExpiredKeys (store: Store, log: FastifyBaseLogger): Promise<void> {
  const before = new Date().toISOString()
  try {
    while (await store.pruneIdempotencyKeys(before, PRUNE_BATCH) === PRUNE_BATCH);
  } catch (error) {
    log.warn({ err: error }, 'expired idempotency keys could not be pruned; trying again later')
  }
}

async function idempotency (app: FastifyInstance, options: IdempotencyOptions): Promise<void> {
  const { store } = options

  /** Records how the run ended, once the request is over; the caller's answer does not wait for it. */
  function settleWhenDone (request: FastifyRequest, subject: string, key: string, answer: () => BufferedAnswer | undefined): void {
    request.audit.whenDone(() => {
      const { audit } = request
      const captured = answer()
      const forwarded = audit.upstreamAttempts > 0 && !refusedByTheProxy(audit.errorClass ?? undefined)
      let fate = settlementFor({ forwarded, upstreamStatus: audit.upstreamStatus, errorClass: audit.errorClass })
      // An answer that started but could not be read whole is not one to replay.
      if (fate === 'complete' && captured === undefined) fate = 'unknown'
      const at = new Date().toISOString()
      // Both are idempotent, so a write whose answer was lost is simply made again.
      const settled = persistently(async () => {
        if (fate === 'release') {
          await store.releaseIdempotencyKey(subject, key)
          return
        }
        await store.settleIdempotencyKey(subject, key, {
          state: fate === 'complete' ? 'completed' : 'unknown',
          status: captured?.status ?? audit.upstreamStatus ?? null,
          headers: captured === undefined ? null : replayHeaders(captured.headers),
          body: captured === undefined ? null : sealAnswer(options.answerKey, subject, key, captured.body.toString('utf8')),
          computationId: audit.createdComputationId ?? null,
          at
        })
      })
      settled.catch((error: unknown) => {
        // The key stays in flight until it goes stale, then answers "outcome unknown": never a second launch.
        request.log.error({ err: error, fate }, 'an idempotency key could not be settled')
      })
    })
  }

  function replay (row: IdempotencyRow, request: FastifyRequest, reply: FastifyReply): FastifyReply {
    // A completed key always holds the whole answer; one that cannot be opened (sealed under
    // another audit key, or edited) is not replayed, and the run is not sent again either.
    const body = openAnswer(options.answerKey, row.subject, row.key, String(row.body))
    if (body === undefined) throw new IdempotencyOutcomeUnknown(runTargetOf(request.body as object).kind)
    request.audit.answerSource = 'replay'
    if (row.computationId !== null) request.audit.createdComputationId = row.computationId
    return reply.code(Number(row.status)).headers(row.headers as Record<string, string>).header('idempotent-replayed', 'true').send(body)
  }

  // After authorization's: a refused run claims nothing.
  app.addHook('preHandler', async (request, reply) => {
    if (request.routeOptions.config.contract?.action !== 'run') return
    const key = idempotencyKeyOf(request.headers['idempotency-key'])
    if (key === undefined) {
      if (options.required) throw new IdempotencyKeyRequired()
      return
    }
    const { subject } = provenIdentity(request.caller)
    const hash = requestHash(request.body)
    const now = new Date()
    const claim = claimFor(subject, key, hash, now, options.ttlMs)
    const existing = await store.claimIdempotencyKey(claim).catch(async (error: unknown) => {
      // The claim may have been committed with its answer lost. Nothing was sent: take back our
      // own claim (only it), so a retry runs instead of waiting a day on "outcome unknown".
      await persistently(async () => { await store.releaseIdempotencyKey(subject, key, claim.createdAt) })
        .catch((releaseError: unknown) => { request.log.error({ err: releaseError }, 'an idempotency claim that may have been made could not be taken back') })
      throw error
    })
    const verdict = verdictFor(existing, hash, now.getTime(), options.staleAfterMs)
    switch (verdict.kind) {
      case 'proceed': {
        let captured: BufferedAnswer | undefined
        // Authorization always gives a run its filter (the owner's record); this one wraps it.
        const inner = request.answerFilter as AnswerFilter
        request.answerFilter = async (answer) => {
          captured = answer
          return await inner(answer)
        }
        settleWhenDone(request, subject, key, () => captured)
        return
      }
      case 'replay':
        return replay(verdict.row, request, reply)
      case 'reused':
        throw new IdempotencyKeyReused()
      case 'in_flight':
        throw retryAfter(new IdempotencyInFlight(), 1)
      case 'unknown':
        throw new IdempotencyOutcomeUnknown(runTargetOf(request.body as object).kind)
    }
  })

  const pruning = setInterval(pruneExpiredKeys, PRUNE_EVERY_MS, store, app.log).unref()
  app.addHook('onClose', async () => { clearInterval(pruning) })
}

export default fp(idempotency, { name: 'idempotency', fastify: '5.x', dependencies: ['identity', 'audit', 'authorization'] })
