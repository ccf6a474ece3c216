// Who a caller is, once proven: the one shape every way of authenticating produces, and what
// the audit trail, the policy and the Agent-Id sent to Code Ocean are built from.

export type AuthMethod = 'jwt' | 'trusted-header' | 'service-key' | 'admin-key' | 'anonymous'

export interface Identity {
  /**
   * A stable id for the caller: the JWT's subject claim, the trusted user header, or a service
   * key's subject. A service key's is in a namespace of its own (`key:ci-nightly`) unless the key
   * was made to act as a person (`npm run keys -- create --as-person`), so ownership, policy
   * subjects, rate limits and the audit actor never confuse a key with a person.
   */
  subject: string
  email: string | null
  groups: string[]
  method: AuthMethod
  /** The service key's id (never its secret); null for other methods. */
  keyId: string | null
}

/**
 * The namespace of service keys' subjects. The gateway and its headers may never prove a subject
 * in it: a person whose subject claim they can edit could otherwise become a key, its
 * computations and its policy rules.
 */
export const KEY_NAMESPACE = 'key:'

/** Is this subject one a person may not have? Any case, so no look-alike reaches the audit trail. */
export function inKeyNamespace (subject: string): boolean {
  return subject.slice(0, KEY_NAMESPACE.length).toLowerCase() === KEY_NAMESPACE
}
