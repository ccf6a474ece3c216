// Idempotency keys on runs (the IETF Idempotency-Key header): a run retried with the same key and
// body gets the first run's answer again and never launches a second computation, on whichever
// instance the retry lands (the keys live in the shared store). A retry while the first is still
// out gets 409; one whose first attempt's outcome is unknown gets 409 with advice, never a blind
// second launch; the same key with another body gets 422. The run's handler claims the key
// (app.runKeys.claim) and settles it with what became of the call.
import type { KeyObject } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import {
  IdempotencyInFlight, IdempotencyKeyRequired, IdempotencyKeyReused, IdempotencyOutcomeUnknown, retryAfter
} from '../errors.js'
import { claimFor, idempotencyKeyOf, requestHash, verdictFor } from '../idempotency/idempotency.js'
import { fateOf, persistently, pruneExpiredKeys, replayOf, settleKey, type KeyOf } from '../idempotency/settlement.js'
import { provenIdentity } from '../identity/caller.js'
import type { IdempotencyStore } from '../store/store.js'
import { runTargetOf } from '../policy/targets.js'
import type { BufferedAnswer } from '../upstream/coalesce.js'

export interface IdempotencyOptions {
  store: IdempotencyStore
  ttlMs: number
  required: boolean
  /** A claim still in flight after this long is taken as lost after sending: its outcome is unknown. */
  staleAfterMs: number
  /** Seals the answers kept for replay (answerKeyFrom the audit key). */
  answerKey: KeyObject
}

/** What claiming a run's key came to. */
export type RunClaim =
  /** The run has no key: forward it as it is. */
  | { kind: 'unkeyed' }
  /** The first run's answer was sent again: nothing more to do. */
  | { kind: 'replayed', reply: FastifyReply }
  /** The key is this run's now: forward it, then settle with the answer read whole (undefined: none). */
  | { kind: 'claimed', settle: (captured: BufferedAnswer | undefined) => void }

export interface RunKeys {
  /** Claims the run's Idempotency-Key; throws the 4xx a key in use or malformed gets. */
  claim: (request: FastifyRequest, reply: FastifyReply) => Promise<RunClaim>
}

declare module 'fastify' {
  interface FastifyInstance {
    runKeys: RunKeys
  }
}

const PRUNE_EVERY_MS = 3_600_000

async function idempotency (app: FastifyInstance, options: IdempotencyOptions): Promise<void> {
  const { store, answerKey } = options

  /** Records how the run ended, once the request is over; the caller's answer does not wait for it. */
  function settleWhenDone (request: FastifyRequest, key: KeyOf, captured: BufferedAnswer | undefined): void {
    request.audit.whenDone(() => {
      const { audit } = request
      const outcome = audit.upstream
      const fate = fateOf(outcome, captured)
      const ending = { fate, captured, status: outcome?.status, computationId: audit.createdComputationId }
      settleKey(store, key, ending, answerKey, new Date()).catch((error: unknown) => {
        // The key stays in flight until it goes stale, then answers "outcome unknown": never a second launch.
        request.log.error({ err: error, fate }, 'an idempotency key could not be settled')
      })
    })
  }

  const runKeys: RunKeys = {
    async claim (request, reply) {
      // Node joins repeated header lines into one "k1, k2", which reads as a valid key: take the
      // lines as sent (headersDistinct; absent under app.inject, which sends each header once).
      const key = idempotencyKeyOf(request.raw.headersDistinct?.['idempotency-key'] ?? request.headers['idempotency-key'])
      if (key === undefined) {
        if (options.required) throw new IdempotencyKeyRequired()
        return { kind: 'unkeyed' }
      }
      const { subject } = provenIdentity(request.caller)
      const hash = requestHash(request.body)
      const now = new Date()
      const claim = claimFor(subject, key, hash, now, options.ttlMs)
      const existing = await store.claimIdempotencyKey(claim).catch((error: unknown) => {
        // The claim may have been committed with its answer lost. Nothing was sent: take back our
        // own claim (only it), so a retry runs instead of waiting a day on "outcome unknown". In
        // the background: the store is failing, and the caller's 503 must not wait for its retries
        // (until then, a retry with the key gets 409 and Retry-After).
        persistently(async () => { await store.releaseIdempotencyKey(subject, key, claim.createdAt) })
          .catch((releaseError: unknown) => { request.log.error({ err: releaseError }, 'an idempotency claim that may have been made could not be taken back') })
        throw error
      })
      const verdict = verdictFor(existing, hash, now.getTime(), options.staleAfterMs)
      switch (verdict.kind) {
        case 'proceed':
          return { kind: 'claimed', settle: (captured) => { settleWhenDone(request, { subject, key }, captured) } }
        case 'replay': {
          // A completed key always holds the whole answer; one that cannot be opened is not
          // replayed, and the run is not sent again either.
          const replay = replayOf(verdict.row, answerKey)
          if (replay === undefined) throw new IdempotencyOutcomeUnknown(runTargetOf(request.body as object).kind)
          request.audit.answerSource = 'replay'
          if (verdict.row.computationId !== null) request.audit.createdComputationId = verdict.row.computationId
          return { kind: 'replayed', reply: reply.code(replay.status).headers(replay.headers).header('idempotent-replayed', 'true').send(replay.body) }
        }
        case 'reused':
          throw new IdempotencyKeyReused()
        case 'in_flight':
          throw retryAfter(new IdempotencyInFlight(), 1)
        case 'unknown':
          throw new IdempotencyOutcomeUnknown(runTargetOf(request.body as object).kind)
      }
    }
  }
  app.decorate('runKeys', runKeys)

  const pruning = setInterval(pruneExpiredKeys, PRUNE_EVERY_MS, store, app.log).unref()
  app.addHook('onClose', async () => { clearInterval(pruning) })
}

export default fp(idempotency, { name: 'idempotency', fastify: '5.x', dependencies: ['identity', 'audit'] })
