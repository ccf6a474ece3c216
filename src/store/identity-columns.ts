// service_keys and computation_owners rows as both databases return them, and their
// conversions; groups are kept as JSON text so both databases share one schema.
import type { ServiceKeyRealm, ServiceKeyRow } from './key-store.js'
import type { OwnerRow } from './ownership-store.js'

export interface ServiceKeyColumns {
  key_id: string
  subject: string
  groups_json: string
  description: string | null
  secret_hash: string
  created_at: string
  expires_at: string | null
  revoked_at: string | null
  last_used_at: string | null
  realm: ServiceKeyRealm
}

export interface OwnerColumns {
  computation_id: string
  subject: string
  groups_json: string
  capsule_id: string | null
  pipeline_id: string | null
  created_at: string
  namespaced: number
}

export function toServiceKeyRow (row: ServiceKeyColumns): ServiceKeyRow {
  return {
    keyId: row.key_id,
    subject: row.subject,
    groups: JSON.parse(row.groups_json) as string[],
    description: row.description,
    secretHash: row.secret_hash,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    lastUsedAt: row.last_used_at,
    realm: row.realm
  }
}

export function serviceKeyValues (row: ServiceKeyRow): unknown[] {
  return [row.keyId, row.subject, JSON.stringify(row.groups), row.description, row.secretHash, row.createdAt, row.expiresAt, row.revokedAt, row.lastUsedAt, row.realm]
}

export const SERVICE_KEY_COLUMNS = 'key_id, subject, groups_json, description, secret_hash, created_at, expires_at, revoked_at, last_used_at, realm'

export function toOwnerRow (row: OwnerColumns): OwnerRow {
  return {
    computationId: row.computation_id,
    subject: row.subject,
    groups: JSON.parse(row.groups_json) as string[],
    capsuleId: row.capsule_id,
    pipelineId: row.pipeline_id,
    createdAt: row.created_at,
    namespaced: Number(row.namespaced) === 1
  }
}

export function ownerValues (row: OwnerRow): unknown[] {
  return [row.computationId, row.subject, JSON.stringify(row.groups), row.capsuleId, row.pipelineId, row.createdAt, row.namespaced ? 1 : 0]
}

export const OWNER_COLUMNS = 'computation_id, subject, groups_json, capsule_id, pipeline_id, created_at, namespaced'

/** Ids per lookup statement: well under both databases' parameter limits. */
export const OWNER_LOOKUP_CHUNK = 500
