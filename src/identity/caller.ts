// The outcome of identifying a request: the proven caller, or why none could be proven. Only
// routes with a contract are identified; the failure is answered by authorization, after the
// audit has started, so a refused request's records still say why.
import type { Identity } from './identity.js'

export type Caller =
  | { readonly proven: true, readonly identity: Identity }
  | { readonly proven: false, readonly failure: Error }

/** The proven caller's identity; null when none was proven or the route identifies no one. */
export function identityOf (caller: Caller | null): Identity | null {
  return caller?.proven === true ? caller.identity : null
}

/** The proven caller's identity, where authorization has already refused every other request. */
export function provenIdentity (caller: Caller | null): Identity {
  if (caller?.proven !== true) throw new Error('no proven caller here: authorization should have refused this request')
  return caller.identity
}
