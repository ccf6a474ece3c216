// Turns Ajv's validation errors into one sentence a caller can act on, naming the field:
// `body has an unknown property "colour"`, `params/computation_id must be a UUID`.
import type { FastifySchemaValidationError } from 'fastify'
import { NAME_PATTERN, UUID_PATTERN } from '../../schemas/common.js'
import { InvalidRequest } from '../errors.js'

function describe (error: FastifySchemaValidationError, part: string): string {
  const where = `${part}${error.instancePath}`
  const params = error.params as Record<string, unknown>
  switch (error.keyword) {
    case 'additionalProperties':
      return `${where} has an unknown property "${String(params.additionalProperty)}"`
    case 'required':
      return `${where} is missing the required property "${String(params.missingProperty)}"`
    case 'pattern':
      if (params.pattern === UUID_PATTERN) return `${where} must be a UUID`
      if (params.pattern === NAME_PATTERN) {
        return `${where} has a character that is not allowed in a name: control characters and bidirectional overrides or isolates are refused`
      }
      if (typeof params.pattern === 'string' && params.pattern.includes('\\.\\.')) {
        return `${where} must be a relative path (no leading "/", no backslash) without ".." segments or control characters`
      }
      return `${where} has a character that is not allowed`
    default:
      return `${where} ${String(error.message)}`
  }
}

/**
 * Fastify's schemaErrorFormatter: the message of the 400 the caller sees. Ajv stops at the
 * first failure; for a nullable field it then also reports the `null` branch and the `anyOf`,
 * so the first error is the one that names the real problem.
 */
export function formatValidationErrors (errors: FastifySchemaValidationError[], part: string): Error {
  // Fastify calls this only when validation failed, so there is at least one error.
  return new InvalidRequest(describe(errors[0] as FastifySchemaValidationError, part))
}
