// Plain identity headers (X-Forwarded-User and friends) set by a gateway that has already
// authenticated the caller. Anyone can send such headers, so they count only on connections
// from the configured gateway addresses.
import { isIPv4, type BlockList } from 'node:net'
import { Unauthenticated } from '../errors.js'
import { addressList } from '../net/address-list.js'
import { inKeyNamespace, KEY_NAMESPACE, type Identity } from './identity.js'

export interface TrustedHeaderOptions {
  /** Addresses and CIDR ranges the gateway connects from; empty trusts no one. */
  proxies: string[]
  userHeader: string
  emailHeader: string
  groupsHeader: string
}

/** Printable characters only: a subject or group becomes an audit field and part of Agent-Id. */
export const IDENTITY_VALUE = /^[\x21-\x7e](?:[\x20-\x7e]{0,254}[\x21-\x7e])?$/
const MAX_GROUPS = 256

/** Peer addresses whose verdict is remembered: every caller's, from a gateway's few addresses to a bounded many. */
const MAX_REMEMBERED_PEERS = 1024

export class TrustedHeaders {
  readonly #proxies: BlockList
  readonly #names: TrustedHeaderOptions
  // BlockList.check builds a SocketAddress per call (some µs); the list never changes, so neither does a verdict.
  readonly #verdicts = new Map<string, boolean>()
  /** Header names to keep away from Code Ocean and out of the log (made once: every request reads them). */
  readonly names: readonly string[]

  constructor (options: TrustedHeaderOptions) {
    this.#proxies = addressList(options.proxies)
    this.#names = { ...options, userHeader: options.userHeader.toLowerCase(), emailHeader: options.emailHeader.toLowerCase(), groupsHeader: options.groupsHeader.toLowerCase() }
    this.names = Object.freeze([this.#names.userHeader, this.#names.emailHeader, this.#names.groupsHeader])
  }

  /** Does the request carry any identity header at all? */
  present (headers: Readonly<Record<string, string | string[] | undefined>>): boolean {
    return this.names.some((name) => headers[name] !== undefined)
  }

  trusts (peer: string | undefined): boolean {
    if (peer === undefined) return false
    let verdict = this.#verdicts.get(peer)
    if (verdict === undefined) {
      // An IPv4 client on a dual-stack socket shows up as ::ffff:a.b.c.d, which BlockList matches
      // against IPv4 ranges itself.
      verdict = this.#proxies.check(peer, isIPv4(peer) ? 'ipv4' : 'ipv6')
      if (this.#verdicts.size >= MAX_REMEMBERED_PEERS) this.#verdicts.clear()
      this.#verdicts.set(peer, verdict)
    }
    return verdict
  }

  /** The caller the gateway names; Unauthenticated when the peer is not the gateway or the headers are unusable. */
  identify (
    peer: string | undefined,
    headers: Readonly<Record<string, string | string[] | undefined>>,
    distinct: Readonly<Record<string, string[] | undefined>> = {}
  ): Identity {
    if (!this.trusts(peer)) {
      throw new Unauthenticated(`Identity headers (${this.names.join(', ')}) are accepted only from the gateway: authenticate with a service key or through the gateway.`)
    }
    // Node joins a repeated header with ", ": a gateway that appended to a caller's own header
    // instead of replacing it would otherwise let the caller add a name or a group.
    const repeated = this.names.find((name) => (distinct[name]?.length ?? 0) > 1)
    if (repeated !== undefined) throw new Unauthenticated(`The ${repeated} header arrived more than once: the gateway must replace it, not add to it.`)
    const user = headers[this.#names.userHeader]
    if (typeof user !== 'string' || !IDENTITY_VALUE.test(user)) {
      throw new Unauthenticated(`The gateway sent no usable ${this.#names.userHeader} header.`)
    }
    if (inKeyNamespace(user)) {
      throw new Unauthenticated(`The gateway's ${this.#names.userHeader} header names a subject in the namespace of service keys (${KEY_NAMESPACE}…), which no person may have.`)
    }
    const email = headers[this.#names.emailHeader]
    const groups = headers[this.#names.groupsHeader]
    return {
      subject: user,
      email: typeof email === 'string' && IDENTITY_VALUE.test(email) ? email : null,
      groups: typeof groups === 'string'
        ? groups.split(',').map((group) => group.trim()).filter((group) => IDENTITY_VALUE.test(group)).slice(0, MAX_GROUPS)
        : [],
      method: 'trusted-header',
      keyId: null
    }
  }
}
