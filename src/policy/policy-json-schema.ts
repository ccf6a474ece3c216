// The policy file's JSON Schema, for editors and their YAML and JSON language servers, made from
// the TypeBox schema the proxy checks the file with. Written by `npm run generate:config`; a test
// keeps the committed file current. It checks the file's shape; the proxy also refuses rules that
// parse but grant nothing (see checkPolicy).
import { PolicyDocument } from './policy-file.js'

export const POLICY_SCHEMA_PATH = 'schemas/policy.schema.json'

export function renderPolicyJsonSchema (): string {
  // TypeBox's own markers are symbols, which JSON leaves out: what remains is plain JSON Schema.
  return `${JSON.stringify({ $schema: 'http://json-schema.org/draft-07/schema#', ...PolicyDocument }, null, 2)}\n`
}
