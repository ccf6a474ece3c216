// The audit admin key (AUDIT_ADMIN_KEY), sent as `Authorization: Bearer <key>`: an identity the
// policy lets read the audit trail and nothing else, accepted on the audit trail's routes only
// (elsewhere the header is read as the service key it then must be).
import { createHash, timingSafeEqual } from 'node:crypto'
import type { Identity } from '../identity.js'
import { single, type IdentitySourceKind } from '../source.js'

export const AUDIT_ADMIN: Identity = Object.freeze({ subject: 'audit admin key', email: null, groups: [], method: 'admin-key', keyId: null })

const digest = (value: string): Buffer => createHash('sha256').update(value).digest()

export const adminKeySource: IdentitySourceKind = {
  name: 'audit admin key',
  onlyFor: ['audit:read'],
  securitySchemes: () => ({ auditAdminKey: { type: 'http', scheme: 'bearer', description: 'AUDIT_ADMIN_KEY, for the audit trail.' } }),
  configured ({ adminKey }) {
    if (adminKey === undefined) return undefined
    const expected = digest(adminKey)
    return {
      // The proof is the exact key, compared in constant time: any other Bearer token is left to the
      // sources after this one, which refuse it if it proves nothing.
      present (request) {
        const presented = /^Bearer (.+)$/.exec(single(request.headers.authorization) ?? '')?.[1]
        return presented !== undefined && timingSafeEqual(digest(presented), expected)
      },
      // An Authorization header, which the service key source counts as well.
      carries (request) {
        return this.present(request)
      },
      prove: () => AUDIT_ADMIN
    }
  }
}
