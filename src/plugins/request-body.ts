// Request bodies as the SDK sends them: JSON only; an empty body with a JSON content type
// (the SDK's PATCH and DELETE) is no body; unknown null-valued fields are dropped before
// strict validation. Prototype-poisoning keys are rejected by Fastify's own parser.
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { TSchema } from '@sinclair/typebox'
import { dropUnknownNulls, type SchemaNode } from '../validation/unknown-nulls.js'

export interface RequestBodyOptions {
  namedSchemas: ReadonlyArray<TSchema & { $id: string }>
}

async function requestBody (app: FastifyInstance, options: RequestBodyOptions): Promise<void> {
  const byId = new Map(options.namedSchemas.map((schema) => [schema.$id, schema]))
  const resolve = (ref: string): SchemaNode | undefined => byId.get(ref.replace(/#$/, '')) as SchemaNode | undefined

  const parseJson = app.getDefaultJsonParser('error', 'error')
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body.length === 0) {
      done(null, undefined)
      return
    }
    parseJson(request, body.toString(), done)
  })

  app.addHook('preValidation', async (request) => {
    const schema = request.routeOptions.schema?.body as SchemaNode | undefined
    if (schema !== undefined && request.body !== undefined && request.body !== null) {
      dropUnknownNulls(schema, request.body, resolve)
    }
  })
}

export default fp(requestBody, { name: 'request-body', fastify: '5.x' })
