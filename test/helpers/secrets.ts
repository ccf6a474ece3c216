// The one test token, and the forms of it that must never be seen outside the upstream call.
import type { KeyObject } from 'node:crypto'
import { chainKeyFrom } from '../../src/audit/chain.js'
import { basicAuthorization } from '../../src/upstream/credential.js'

export const TEST_TOKEN = 'cop_test-token-0123456789'
export const TEST_HMAC_KEY = 'test-audit-hmac-key-0123456789'
/** What verifyAuditTrail needs to check the chains of apps and processes started with TEST_HMAC_KEY. */
export const TEST_CHAIN_KEY = chainKeyFrom(Buffer.from(TEST_HMAC_KEY))
export const TEST_CHAIN_KEYS: readonly KeyObject[] = [TEST_CHAIN_KEY]

export function secretForms (token: string): string[] {
  const basic = basicAuthorization(token)
  return [token, basic, basic.slice('Basic '.length)]
}
