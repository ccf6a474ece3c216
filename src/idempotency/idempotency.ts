// The decisions behind Idempotency-Key on runs, free of I/O: which request a key stands for,
// what a retry gets, and what a run's ending does to its key. The request path applies them.
import { createHash } from 'node:crypto'
import { canonicalJson } from '../canonical-json.js'
import { InvalidRequest } from '../errors.js'
import type { IdempotencyRow } from '../store/store.js'
import { failedWhileConnecting } from '../upstream/failures.js'

/**
 * SHA-256 (hex) of the request body as canonical JSON (object keys sorted recursively; arrays in
 * order), so the same run sent with its fields in another order is the same request. No body at
 * all hashes as the empty text, unlike a JSON null.
 */
export function requestHash (body: unknown): string {
  return createHash('sha256').update(canonicalJson(body)).digest('hex')
}

const KEY = /^[\x20-\x7e]{1,255}$/
/** An sf-string (RFC 8941): printable ASCII in double quotes, where only \" and \\ are escapes. */
const SF_STRING = /^"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"$/

/**
 * The Idempotency-Key header value, checked: 1–255 printable ASCII characters (IETF draft: a
 * string; we also accept the quoted form "…" of sf-string and strip the quotes, so "abc" and abc
 * are one key). Returns undefined when absent, throws InvalidRequest (src/errors.ts) when malformed.
 */
export function idempotencyKeyOf (header: string | string[] | undefined): string | undefined {
  const values = typeof header === 'string' ? [header] : header ?? []
  if (values.length === 0) return undefined
  // Two headers are two keys for one request: which one the caller meant cannot be known.
  const key = values.length === 1 ? keyIn(values[0] as string) : undefined
  if (key === undefined || !KEY.test(key)) {
    throw new InvalidRequest('The Idempotency-Key header must be one value of 1 to 255 printable ASCII characters, optionally in double quotes: send a unique value per intended run, such as a UUID.')
  }
  return key
}

/** The key a header value spells: the value itself, or the text of an sf-string (undefined for a broken one). */
function keyIn (value: string): string | undefined {
  if (!value.startsWith('"')) return value
  const match = SF_STRING.exec(value)
  return match === null ? undefined : (match[1] as string).replace(/\\(["\\])/g, '$1')
}

export type ClaimVerdict =
  /** Claimed now: forward the run. */
  | { kind: 'proceed' }
  /** Completed with the same body: send row.status, row.headers and row.body again. */
  | { kind: 'replay', row: IdempotencyRow }
  /** The key was first sent with a different body: 422. */
  | { kind: 'reused' }
  /** The first request is still running: 409, retry later. */
  | { kind: 'in_flight' }
  /** Whether the first run started is not known: 409, with advice to check before using a new key. */
  | { kind: 'unknown', row: IdempotencyRow }

/**
 * What to do given the claim's result (undefined = claimed now). An in_flight row older than
 * staleAfterMs is treated as unknown (its instance may have died after sending). A different body
 * is refused whatever the first request's state, so a key never stands for two runs.
 */
export function verdictFor (existing: IdempotencyRow | undefined, hash: string, nowMs: number, staleAfterMs: number): ClaimVerdict {
  if (existing === undefined) return { kind: 'proceed' }
  if (existing.requestHash !== hash) return { kind: 'reused' }
  if (existing.state === 'completed') return { kind: 'replay', row: existing }
  if (existing.state === 'unknown') return { kind: 'unknown', row: existing }
  // Written as "not fresh" so an unreadable time counts as stale: unknown never launches a run.
  const fresh = nowMs - Date.parse(existing.createdAt) <= staleAfterMs
  return fresh ? { kind: 'in_flight' } : { kind: 'unknown', row: existing }
}

/**
 * Answers that say the run did not start: the proxy's own token was refused (401), Code Ocean
 * timed out waiting for the request (408), throttled it (429) or was unavailable (503).
 */
const NOT_STARTED = new Set([401, 408, 429, 503])

/**
 * How a forwarded (or not) run ended decides the key's fate:
 *  - never forwarded (refused by the proxy before sending, e.g. policy, validation, store down, circuit open, overloaded) → 'release'
 *  - upstream answered 2xx, or 4xx other than 408 and 429 → 'complete' (replayable)
 *  - upstream answered 401 (the proxy's own token was refused: nothing ran), 408, 429 or 503 → 'release'
 *  - upstream answered any other 5xx → 'unknown'
 *  - no answer: errorClass 'refused' | 'unreachable' | 'connect_timeout' (nothing sent) → 'release'; anything else ('timeout', 'reset', 'protocol', 'closed', …) → 'unknown'
 * Any other answer (1xx, 3xx) is Code Ocean's final word too: 'complete'. A status of 600 or more
 * is no HTTP answer: 'unknown'.
 */
export function settlementFor (facts: { forwarded: boolean, upstreamStatus: number | undefined, errorClass: string | undefined }): 'complete' | 'release' | 'unknown' {
  const { forwarded, upstreamStatus, errorClass } = facts
  if (!forwarded) return 'release'
  if (upstreamStatus === undefined) return failedWhileConnecting(errorClass) ? 'release' : 'unknown'
  if (NOT_STARTED.has(upstreamStatus)) return 'release'
  return upstreamStatus >= 500 ? 'unknown' : 'complete'
}

/** A fresh claim: the key in flight for `subject`, with nothing known yet of the run's answer. */
export function claimFor (subject: string, key: string, hash: string, now: Date, ttlMs: number): IdempotencyRow {
  return {
    subject,
    key,
    requestHash: hash,
    state: 'in_flight',
    status: null,
    headers: null,
    body: null,
    computationId: null,
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + ttlMs).toISOString()
  }
}
