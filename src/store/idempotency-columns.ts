// idempotency_keys rows as both databases return them, and their conversions; the answer's
// headers are kept as JSON text so both databases share one schema.
import type { IdempotencyOutcome, IdempotencyRow } from './idempotency-store.js'

export interface IdempotencyColumns {
  subject: string
  idempotency_key: string
  request_hash: string
  state: IdempotencyRow['state']
  status: number | null
  headers_json: string | null
  body: string | null
  computation_id: string | null
  created_at: string
  updated_at: string
  expires_at: string
}

export function toIdempotencyRow (row: IdempotencyColumns): IdempotencyRow {
  return {
    subject: row.subject,
    key: row.idempotency_key,
    requestHash: row.request_hash,
    state: row.state,
    status: row.status,
    headers: row.headers_json === null ? null : JSON.parse(row.headers_json) as Record<string, string>,
    body: row.body,
    computationId: row.computation_id,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    expiresAt: row.expires_at
  }
}

export function idempotencyValues (row: IdempotencyRow): unknown[] {
  return [row.subject, row.key, row.requestHash, row.state, row.status, headersJson(row.headers), row.body,
    row.computationId, row.createdAt, row.updatedAt, row.expiresAt]
}

export const IDEMPOTENCY_COLUMNS = 'subject, idempotency_key, request_hash, state, status, headers_json, body, computation_id, created_at, updated_at, expires_at'

/** The values for SET state, status, headers_json, body, computation_id, updated_at, in that order. */
export function settlementValues (outcome: IdempotencyOutcome): unknown[] {
  return [outcome.state, outcome.status, headersJson(outcome.headers), outcome.body, outcome.computationId, outcome.at]
}

function headersJson (headers: Record<string, string> | null): string | null {
  return headers === null ? null : JSON.stringify(headers)
}
