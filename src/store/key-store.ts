// The service-key slice of the store: the keys scripts present, kept only as hashes, made and
// revoked by `npm run keys`, looked up by the identity step.

/** A service key as stored: its secret only as a hash. */
export interface ServiceKeyRow {
  keyId: string
  /** The subject the key proves, namespace included: `key:ci-nightly`, or a person's own for a key made to act as them. */
  subject: string
  groups: string[]
  description: string | null
  /** SHA-256 of the key's secret, hex. */
  secretHash: string
  /** ISO-8601 UTC, like every time below. */
  createdAt: string
  expiresAt: string | null
  revokedAt: string | null
  lastUsedAt: string | null
  realm: ServiceKeyRealm
}

/**
 * Who a service key is for: a proxy (made with `npm run keys`), or `npm run demo`, whose keys
 * only the demo accepts: a configured proxy refuses them even in a database it shares with one.
 */
export type ServiceKeyRealm = 'proxy' | 'demo'

export interface KeyStore {
  /** Adds a service key; fails if its id exists. */
  createServiceKey (row: ServiceKeyRow): Promise<void>
  findServiceKey (keyId: string): Promise<ServiceKeyRow | undefined>
  /** Every key, revoked and expired ones included, oldest first. */
  listServiceKeys (): Promise<ServiceKeyRow[]>
  /** Revokes a key now; false if there is no such key or it was already revoked. */
  revokeServiceKey (keyId: string, at: string): Promise<boolean>
  touchServiceKey (keyId: string, at: string): Promise<void>
}
