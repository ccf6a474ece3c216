// Works out who is calling by asking the configured identity sources in their order (see
// sources.ts): the first whose proof the request carries proves the caller or refuses.
import type { Caller } from './caller.js'
import type { Identity } from './identity.js'
import { IDENTITY_SOURCES, sourcesFor } from './sources.js'
import type { AuthenticatorOptions, CallerRequest, IdentitySource, RouteAction } from './source.js'

export type { AuthenticatorOptions, CallerRequest }
export { ANONYMOUS } from './sources/anonymous.js'

export class Authenticator {
  /** The configured sources for each action, in order; the last one (anonymous) is always present. */
  readonly #sources = new Map<RouteAction | undefined, IdentitySource[]>()
  readonly #options: AuthenticatorOptions

  constructor (options: AuthenticatorOptions) {
    this.#options = options
  }

  /** The caller for a route with `action`; throws Unauthenticated, or a 503 error when a proof cannot be checked now. */
  async identify (request: CallerRequest, action?: RouteAction): Promise<Identity> {
    const source = this.#sourcesFor(action).find((candidate) => candidate.present(request)) as IdentitySource
    return await source.prove(request)
  }

  /**
   * Whether the request carries a credential any source would check (identity headers count only
   * from the gateway's addresses): one without is bounded per address before identity is tried.
   */
  carriesCredential (request: CallerRequest): boolean {
    // Every source counts, whatever route the request is for: audit-trail routes accept them all.
    return this.#sourcesFor('audit:read').some((source) => source.carries(request))
  }

  /** Whether the request comes from the gateway's addresses (TRUSTED_PROXIES), which every person behind it shares. */
  fromGateway (request: CallerRequest): boolean {
    return this.#options.trusted.trusts(request.peer)
  }

  /** The same as identify(), as a value: the identity, or the failure to answer with. */
  async callerOf (request: CallerRequest, action: RouteAction): Promise<Caller> {
    try {
      return { proven: true, identity: await this.identify(request, action) }
    } catch (error) {
      // Always an Error: a source that rejected with nothing must still fail the request, and a
      // hook that passes the failure on (authorization's) takes nothing for no failure.
      return { proven: false, failure: error instanceof Error ? error : new Error(`an identity source failed with a ${typeof error}, not an Error`) }
    }
  }

  #sourcesFor (action: RouteAction | undefined): IdentitySource[] {
    let sources = this.#sources.get(action)
    if (sources === undefined) {
      sources = sourcesFor(action, IDENTITY_SOURCES).flatMap((kind) => kind.configured(this.#options) ?? [])
      this.#sources.set(action, sources)
    }
    return sources
  }
}
