// Who a caller is, once proven: the one shape every way of authenticating produces, and what
// the audit trail, the policy and the Agent-Id sent to Code Ocean are built from.

export type AuthMethod = 'jwt' | 'trusted-header' | 'service-key' | 'admin-key' | 'anonymous'

export interface Identity {
  /** A stable id for the caller: the JWT's subject claim, the trusted user header, a service key's subject. */
  subject: string
  email: string | null
  groups: string[]
  method: AuthMethod
  /** The service key's id (never its secret); null for other methods. */
  keyId: string | null
}
