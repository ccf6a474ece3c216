// Service keys: how scripts and the SDK prove who they are without the gateway. A key is shown
// once when it is made; the store keeps only a hash of its secret, so a stolen database holds
// no usable key. A key's row is read from the store at most once per SERVICE_KEY_CACHE_MS (1 s
// at most), so a revocation holds on every instance sharing the store within that time, and
// sooner where the store says so (PostgreSQL's NOTIFY, a SQLite file written by another
// process: forget, forgetAll); the secret is checked against the row on every call. A key also
// names who it is for (the proxy, or the demo), and works only there.
import { hash, randomBytes, timingSafeEqual } from 'node:crypto'
import { Unauthenticated } from '../errors.js'
import type { KeyStore, ServiceKeyRealm, ServiceKeyRow } from '../store/store.js'
import { inKeyNamespace, KEY_NAMESPACE, type Identity } from './identity.js'

/** Not Code Ocean's `cop_`: a key of ours can never be mistaken for one of its tokens, or the reverse. */
export const SERVICE_KEY_PREFIX = 'cpx_'
const KEY_PATTERN = /^cpx_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/
/** Writing last-used on every call would make each read a write; once a minute tells an operator enough. */
const TOUCH_INTERVAL_MS = 60_000
/** Rows of keys held at most, by default: far more keys than a deployment has in use. */
const MAX_HELD_KEYS = 10_000

export interface NewServiceKey {
  /** Who the key speaks for, without the namespace: `ci-nightly` makes a key for `key:ci-nightly`. */
  subject: string
  /**
   * The key acts as the person `subject` names, in no namespace: their computations are its and
   * the rules that name them apply. For a person's own SDK scripts; whoever may make keys may
   * make one (`npm run keys -- create --as-person`).
   */
  asPerson?: boolean
  groups: string[]
  description?: string
  expiresAt?: Date
  /** The proxy's unless `npm run demo` makes it. */
  realm?: ServiceKeyRealm
}

// The one-shot hash: a Hash object per call cost about three times as much.
function secretHash (secret: string): string {
  return hash('sha256', secret, 'hex')
}

/** Makes a key, stores its hash and returns the key itself: the only time it is ever seen. */
export async function createServiceKey (store: KeyStore, spec: NewServiceKey, now = new Date()): Promise<{ key: string, row: ServiceKeyRow }> {
  if (inKeyNamespace(spec.subject)) throw new Error(`a key's subject is given without ${KEY_NAMESPACE}: the proxy adds it unless the key acts as a person`)
  const keyId = randomBytes(8).toString('hex')
  const secret = randomBytes(32).toString('base64url')
  const row: ServiceKeyRow = {
    keyId,
    subject: spec.asPerson === true ? spec.subject : `${KEY_NAMESPACE}${spec.subject}`,
    groups: spec.groups,
    description: spec.description ?? null,
    secretHash: secretHash(secret),
    createdAt: now.toISOString(),
    expiresAt: spec.expiresAt?.toISOString() ?? null,
    revokedAt: null,
    lastUsedAt: null,
    realm: spec.realm ?? 'proxy'
  }
  await store.createServiceKey(row)
  return { key: `${SERVICE_KEY_PREFIX}${keyId}_${secret}`, row }
}

export function looksLikeServiceKey (text: string): boolean {
  return text.startsWith(SERVICE_KEY_PREFIX)
}

/** What a key made for the other realm is told: where it does work, and how to get one that works here. */
const OTHER_REALM: Record<ServiceKeyRealm, string> = {
  proxy: 'The service key was made by npm run demo and works only with the demo: make a key for this proxy with npm run keys -- create.',
  demo: 'The service key was made for a proxy, not for this demo: use the key the demo printed when it started.'
}

export interface ServiceKeysOptions {
  /** The keys accepted: the proxy's (the default) or the demo's. */
  realm?: ServiceKeyRealm
  /**
   * How long a key's row, once read, is used before it is read again (SERVICE_KEY_CACHE_MS): the
   * bound on how late a revocation or expiry made elsewhere is seen. 0, the default here, reads
   * it on every call. Only rows are held, never "no such key".
   */
  cacheMs?: number
  /** Rows held at most (default 10,000); the oldest read goes first. */
  maxHeld?: number
  now?: () => number
}

interface HeldRow { row: ServiceKeyRow, readAt: number }

export class ServiceKeys {
  readonly #store: KeyStore
  readonly #realm: ServiceKeyRealm
  readonly #now: () => number
  readonly #cacheMs: number
  readonly #maxHeld: number
  readonly #touched = new Map<string, number>()
  // Insertion order is the order rows were read in, so the oldest go first past the bound.
  readonly #held = new Map<string, HeldRow>()
  /** How many revocations have been announced: a read that saw one arrive is not held. */
  #forgets = 0

  constructor (store: KeyStore, options: ServiceKeysOptions = {}) {
    const cacheMs = options.cacheMs ?? 0
    if (!(Number.isInteger(cacheMs) && cacheMs >= 0)) throw new RangeError(`cacheMs must be a whole number ≥ 0, got ${cacheMs}`)
    this.#store = store
    this.#realm = options.realm ?? 'proxy'
    this.#now = options.now ?? Date.now
    this.#cacheMs = cacheMs
    this.#maxHeld = options.maxHeld ?? MAX_HELD_KEYS
  }

  /** The caller a presented key proves, or Unauthenticated. */
  async authenticate (presented: string): Promise<Identity> {
    const parts = KEY_PATTERN.exec(presented)
    const row = parts === null ? undefined : await this.#rowOf(parts[1] as string)
    // The secret is checked before anything about the key is said, so a key id alone reveals nothing.
    if (parts === null || row === undefined || !sameHash(row.secretHash, secretHash(parts[2] as string))) {
      throw new Unauthenticated('The service key is not recognised.')
    }
    if (row.realm !== this.#realm) throw new Unauthenticated(OTHER_REALM[this.#realm])
    const now = this.#now()
    if (row.revokedAt !== null) throw new Unauthenticated('The service key has been revoked.')
    if (row.expiresAt !== null && Date.parse(row.expiresAt) <= now) throw new Unauthenticated('The service key has expired.')
    if (now - (this.#touched.get(row.keyId) ?? -Infinity) >= TOUCH_INTERVAL_MS) {
      this.#touched.set(row.keyId, now)
      // Bookkeeping only, not waited for: a store that reads but cannot write (or waits for
      // another process's write lock) must not lock a valid key out, nor hold its caller.
      this.#store.touchServiceKey(row.keyId, new Date(now).toISOString()).catch(() => { this.#touched.delete(row.keyId) })
    }
    return { subject: row.subject, email: null, groups: row.groups, method: 'service-key', keyId: row.keyId }
  }

  /** Drops what is held of a key, so its next use reads the store (a revocation was announced). */
  forget (keyId: string): void {
    this.#held.delete(keyId)
    this.#forgets++
  }

  /** Drops every key held, so each one's next use reads the store (the store was written by another process). */
  forgetAll (): void {
    this.#held.clear()
    this.#forgets++
  }

  /** The key's row: the one read within the last cacheMs, or the store's. */
  async #rowOf (keyId: string): Promise<ServiceKeyRow | undefined> {
    if (this.#cacheMs === 0) return await this.#store.findServiceKey(keyId)
    const now = this.#now()
    const held = this.#held.get(keyId)
    // A clock set back reads the row again rather than trusting it for longer.
    if (held !== undefined && now - held.readAt < this.#cacheMs && now >= held.readAt) return held.row
    const forgets = this.#forgets
    const row = await this.#store.findServiceKey(keyId)
    this.#held.delete(keyId)
    // A read that began before a revocation was announced may carry the row as it was: used once,
    // never held.
    if (row !== undefined && forgets === this.#forgets) {
      this.#held.set(keyId, { row, readAt: now })
      if (this.#held.size > this.#maxHeld) this.#held.delete(this.#held.keys().next().value as string)
    }
    return row
  }
}

function sameHash (stored: string, presented: string): boolean {
  const a = Buffer.from(stored, 'hex')
  const b = Buffer.from(presented, 'hex')
  return a.length === b.length && timingSafeEqual(a, b)
}
