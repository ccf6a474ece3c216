// The one test token, and the forms of it that must never be seen outside the upstream call.
import { basicAuthorization } from '../../src/upstream/credential.js'

export const TEST_TOKEN = 'cop_test-token-0123456789'
export const TEST_HMAC_KEY = 'test-audit-hmac-key-0123456789'

export function secretForms (token: string): string[] {
  const basic = basicAuthorization(token)
  return [token, basic, basic.slice('Basic '.length)]
}
