// Verifies the signed assertion an SSO gateway (Pomerium, Google IAP, Cloudflare Access,
// oauth2-proxy) puts on each request, against keys it publishes as a JWKS or a PEM key.
import { createPublicKey, type KeyObject } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { createLocalJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey, type JWTVerifyOptions } from 'jose'
import { getGlobalDispatcher, request, type Dispatcher } from 'undici'
import { IdentityUnavailable, Unauthenticated } from '../errors.js'
import { inKeyNamespace, KEY_NAMESPACE, type Identity } from './identity.js'

export interface GatewayJwtOptions {
  /** Where the gateway publishes its keys (fetched with undici, bounded in time). One of jwksUrl / publicKeyPem is required. */
  jwksUrl?: string
  /** A PEM public key (SPKI) used instead of a JWKS. */
  publicKeyPem?: string
  issuer: string
  /** At least one; the assertion's aud must name one of them. */
  audience: string[]
  /** Pinned, e.g. ['RS256', 'ES256']; 'none' and HS* are refused at creation. */
  algorithms: string[]
  /** Top-level claim names (no dotted paths), e.g. 'sub', 'email', 'groups'. */
  claims: { subject: string, email: string, groups: string }
  /** Max time for one JWKS fetch (connect+headers+body), ms */
  fetchTimeoutMs: number
  /** After a fetch (successful or not), no request-triggered fetch before this many ms: stops random kids from making the proxy hammer the gateway. */
  refreshCooldownMs: number
  /** Cached keys are refreshed in the background (on the next verify) once older than this; they stay usable while refreshing fails. */
  maxAgeMs: number
  /** Allowed clock skew, seconds */
  clockToleranceSeconds: number
  /** When set, `iat` is required and the assertion may be at most this old, seconds. */
  maxTokenAgeSeconds?: number
  /** For tests: an undici Dispatcher to fetch through; default the global one. */
  dispatcher?: Dispatcher
}

export interface GatewayJwtVerifier {
  /** The caller (method 'jwt', keyId null); throws Unauthenticated (401) for a bad token, IdentityUnavailable (503) when no keys could ever be fetched. */
  verify (token: string): Promise<Identity>
  /** True once a key set is loaded (always with publicKeyPem), for a readiness check. */
  ready (): boolean
  /** Fetches the key set now (at start-up, so the first request does not wait); never throws; whether keys are loaded. */
  warm (): Promise<boolean>
}

type KeySource = Pick<GatewayJwtVerifier, 'ready' | 'warm'> & { getKey: JWTVerifyGetKey }

export const MAX_TOKEN_LENGTH = 16 * 1024
export const MAX_JWKS_BYTES = 1024 * 1024
const MAX_SUBJECT_LENGTH = 256
/**
 * What a subject, email or group may not hold, as with trusted headers (src/identity/trusted-headers.ts):
 * control characters (C0, DEL, C1), invisible format characters such as bidi overrides, and line
 * or paragraph separators. These values reach the audit, the log and Agent-Id. Unlike a header,
 * a JSON claim may hold other Unicode, which stays allowed.
 */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u
const UNTRUSTED_KEY = 'was not signed by a trusted key'

// Keyed by jose's `code` (and the failing claim): jose's messages are not a stable interface.
const reasons: Record<string, string> = {
  ERR_JWT_EXPIRED: 'is expired',
  'ERR_JWT_CLAIM_VALIDATION_FAILED iss': 'has the wrong issuer',
  'ERR_JWT_CLAIM_VALIDATION_FAILED aud': 'is for another audience',
  'ERR_JWT_CLAIM_VALIDATION_FAILED nbf': 'is not valid yet',
  'ERR_JWT_CLAIM_VALIDATION_FAILED exp': 'has no valid expiry time',
  ERR_JOSE_ALG_NOT_ALLOWED: 'uses a signing algorithm this proxy does not accept',
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: UNTRUSTED_KEY,
  ERR_JWKS_NO_MATCHING_KEY: UNTRUSTED_KEY,
  ERR_JWKS_MULTIPLE_MATCHING_KEYS: UNTRUSTED_KEY,
  // An algorithm the configured PEM key cannot do (an EC-signed token against an RSA key).
  ERR_JOSE_NOT_SUPPORTED: UNTRUSTED_KEY
}
/** With a maximum token age, iat is the caller's to fix; without one, a bad iat is merely malformed. */
const ageReasons: Record<string, string> = {
  ...reasons,
  'ERR_JWT_CLAIM_VALIDATION_FAILED iat': 'has no valid issue time (iat), which a maximum token age requires',
  'ERR_JWT_EXPIRED iat': 'was issued longer ago than the maximum token age allows'
}

export function createGatewayJwtVerifier (options: GatewayJwtOptions): GatewayJwtVerifier {
  const { algorithms, audience, claims } = options
  if (algorithms.length === 0 || algorithms.some((alg) => alg.toLowerCase() === 'none' || /^hs/i.test(alg))) {
    // HS* would let anyone holding the (public) verification key mint assertions.
    throw new TypeError('algorithms must list at least one asymmetric algorithm (RS256, ES256, …), never "none" or HS*')
  }
  if (audience.length === 0) throw new TypeError('audience must list at least one value')
  const source = keySourceFor(options)
  const reasonsFor = options.maxTokenAgeSeconds === undefined ? reasons : ageReasons
  // Without exp an assertion would be valid forever; every gateway sets one.
  // A maximum age makes jose require iat and check it (and that it is not in the future).
  const verifyOptions: JWTVerifyOptions = {
    issuer: options.issuer,
    audience,
    algorithms,
    clockTolerance: options.clockToleranceSeconds,
    requiredClaims: ['exp'],
    ...(options.maxTokenAgeSeconds === undefined ? {} : { maxTokenAge: options.maxTokenAgeSeconds })
  }
  return {
    async verify (token) {
      if (token.length > MAX_TOKEN_LENGTH) throw new Unauthenticated('The gateway assertion is longer than 16 KiB')
      const payload = await verifiedPayload(token, source.getKey, verifyOptions).catch((error: unknown) => rejection(error, reasonsFor))
      return identityFrom(payload, claims)
    },
    ready: source.ready,
    warm: source.warm
  }
}

function keySourceFor (options: GatewayJwtOptions): KeySource {
  const { jwksUrl, publicKeyPem } = options
  if (publicKeyPem !== undefined && jwksUrl === undefined) return pemKeySource(publicKeyPem)
  if (jwksUrl !== undefined && publicKeyPem === undefined) return jwksKeySource(jwksUrl, options)
  throw new TypeError('Set exactly one of jwksUrl and publicKeyPem')
}

function pemKeySource (pem: string): KeySource {
  let key: ReturnType<typeof createPublicKey>
  try {
    key = createPublicKey(pem)
  } catch (cause) {
    throw new TypeError('publicKeyPem is not a PEM public key', { cause })
  }
  // A token whose algorithm does not fit the key was not signed by it: say so, as a key set
  // would, rather than leave it to the runtime's crypto, whose error differs between Node majors.
  const getKey: JWTVerifyGetKey = async ({ alg }) => {
    if (!keyFitsAlgorithm(key, alg)) throw new errors.JWKSNoMatchingKey()
    return key
  }
  return { getKey, ready: () => true, warm: async () => true }
}

const CURVES: Record<string, string> = { ES256: 'prime256v1', ES384: 'secp384r1', ES512: 'secp521r1' }

/** Whether a token signed with `alg` could have been signed by the private half of `key`. */
export function keyFitsAlgorithm (key: KeyObject, alg: string): boolean {
  const type = key.asymmetricKeyType
  if (/^RS\d+$/.test(alg)) return type === 'rsa'
  if (/^PS\d+$/.test(alg)) return type === 'rsa' || type === 'rsa-pss'
  if (alg in CURVES) return type === 'ec' && key.asymmetricKeyDetails?.namedCurve === CURVES[alg]
  if (alg === 'EdDSA') return type === 'ed25519' || type === 'ed448'
  if (alg === 'Ed25519') return type === 'ed25519'
  return false
}

function jwksKeySource (jwksUrl: string, options: GatewayJwtOptions): KeySource {
  if (!/^https?:$/.test(new URL(jwksUrl).protocol)) throw new TypeError('jwksUrl must be an http(s) URL')
  const { fetchTimeoutMs, refreshCooldownMs, maxAgeMs } = options
  const dispatcher = options.dispatcher ?? getGlobalDispatcher()
  // The last good key set is kept until a newer good one replaces it, so an unreachable JWKS
  // URL only stops key rotation, not verification (jose's createRemoteJWKSet would drop it).
  let keys: JWTVerifyGetKey | null = null
  let loadedAt = 0
  let fetchedAt = -Infinity
  let inFlight: Promise<JWTVerifyGetKey | null> | null = null

  /** Fetches now or joins the fetch under way; the new key set, or null. Never rejects, so it may run unawaited. */
  function refresh (): Promise<JWTVerifyGetKey | null> {
    inFlight ??= fetchKeySet(jwksUrl, fetchTimeoutMs, dispatcher)
      .then((fetched) => {
        keys = fetched
        loadedAt = performance.now()
        return fetched
      }, () => null)
      .finally(() => {
        fetchedAt = performance.now()
        inFlight = null
      })
    return inFlight
  }

  /** Fetches triggered by requests, which anyone can send, wait out the cooldown. */
  async function refreshUnlessCoolingDown (): Promise<JWTVerifyGetKey | null> {
    if (inFlight === null && performance.now() - fetchedAt < refreshCooldownMs) return null
    return await refresh()
  }

  async function currentKeys (): Promise<JWTVerifyGetKey> {
    // Stale keys still answer now; the request does not wait for their replacement.
    if (keys !== null && performance.now() - loadedAt >= maxAgeMs) void refreshUnlessCoolingDown()
    const known = keys ?? await refreshUnlessCoolingDown()
    // Never accept without keys: the caller gets a 503 and retries.
    if (known === null) throw new IdentityUnavailable()
    return known
  }

  return {
    async getKey (header, token) {
      const known = await currentKeys()
      try {
        return await known(header, token)
      } catch (error) {
        // An unknown kid is how a key rotation shows up: look once more before refusing.
        if ((error as errors.JOSEError).code !== 'ERR_JWKS_NO_MATCHING_KEY') throw error
        const fresh = await refreshUnlessCoolingDown()
        if (fresh === null) throw error
        return await fresh(header, token)
      }
    },
    ready: () => keys !== null,
    async warm () {
      await refresh()
      return keys !== null
    }
  }
}

async function fetchKeySet (url: string, timeoutMs: number, dispatcher: Dispatcher): Promise<JWTVerifyGetKey> {
  const response = await request(url, {
    method: 'GET', headers: { accept: 'application/json' }, dispatcher,
    headersTimeout: timeoutMs, bodyTimeout: timeoutMs, signal: AbortSignal.timeout(timeoutMs)
  })
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of response.body as AsyncIterable<Buffer>) {
    size += chunk.length
    // Leaving the loop destroys the body, so no more than the cap is ever read.
    if (size > MAX_JWKS_BYTES) throw new Error('The JWKS is larger than 1 MiB')
    chunks.push(chunk)
  }
  if (response.statusCode !== 200) throw new Error(`The JWKS URL answered ${response.statusCode}`)
  // createLocalJWKSet checks the shape: an object whose `keys` is an array of objects.
  return createLocalJWKSet(JSON.parse(Buffer.concat(chunks).toString('utf8')))
}

async function verifiedPayload (token: string, getKey: JWTVerifyGetKey, verifyOptions: JWTVerifyOptions): Promise<JWTPayload> {
  try {
    return (await jwtVerify(token, getKey, verifyOptions)).payload
  } catch (error) {
    if ((error as errors.JOSEError).code !== 'ERR_JWKS_MULTIPLE_MATCHING_KEYS') throw error
    // jose 6 leaves trying each candidate to the caller (keys without kid, or a kid used twice).
    for await (const candidate of error as errors.JWKSMultipleMatchingKeys) {
      try {
        return (await jwtVerify(token, candidate, verifyOptions)).payload
      } catch (attempt) {
        if ((attempt as errors.JOSEError).code !== 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') throw attempt
      }
    }
    throw error
  }
}

function rejection (error: unknown, reasonsFor: Record<string, string>): never {
  if (error instanceof IdentityUnavailable) throw error
  const { code, claim } = error as { code?: unknown, claim?: unknown }
  const reason = reasonsFor[`${String(code)} ${String(claim)}`] ?? reasonsFor[String(code)] ?? 'is malformed'
  const unauthenticated = new Unauthenticated(`The gateway assertion ${reason}`)
  unauthenticated.cause = error
  throw unauthenticated
}

/** A claim value fit to name someone: 1 to 256 characters, nothing unprintable, no space at either end. */
function printable (value: unknown): value is string {
  return typeof value === 'string' && value !== '' && value.length <= MAX_SUBJECT_LENGTH && value.trim() === value && !UNPRINTABLE.test(value)
}

function identityFrom (payload: JWTPayload, claims: GatewayJwtOptions['claims']): Identity {
  const subject = payload[claims.subject]
  if (!printable(subject)) {
    throw new Unauthenticated(`The gateway assertion has no subject: claim "${claims.subject}" must be a string of 1 to ${MAX_SUBJECT_LENGTH} printable characters, without control characters or spaces at either end`)
  }
  if (inKeyNamespace(subject)) {
    throw new Unauthenticated(`The gateway assertion's subject is in the namespace of service keys (${KEY_NAMESPACE}…), which no person may have`)
  }
  // As with trusted headers, an unusable email is no email rather than a refusal.
  const email = payload[claims.email]
  return { subject, email: printable(email) ? email : null, groups: groupsFrom(payload[claims.groups]), method: 'jwt', keyId: null }
}

/** Some gateways send groups as an array, others as one comma-separated string. */
function groupsFrom (value: unknown): string[] {
  if (Array.isArray(value)) return value.filter(printable)
  if (typeof value !== 'string') return []
  return value.split(',').map((group) => group.trim()).filter(printable)
}
