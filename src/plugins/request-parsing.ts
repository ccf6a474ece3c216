// Requests as the SDK sends them. Bodies: JSON only; an empty body with a JSON content type
// (the SDK's PATCH and DELETE) is no body; unknown null-valued fields are dropped before strict
// validation; prototype-poisoning keys are rejected by Fastify's own parser. Query strings: a
// malformed percent-encoding is refused (the query parser would keep it as literal text).
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { TSchema } from '@sinclair/typebox'
import { BadUrl } from '../errors.js'
import { dropUnknownNulls, type SchemaNode } from '../validation/unknown-nulls.js'
import { routeOf } from '../contract/route-of-request.js'

export interface RequestParsingOptions {
  namedSchemas: ReadonlyArray<TSchema & { $id: string }>
}

function hasMalformedEncoding (query: string): boolean {
  try {
    decodeURIComponent(query)
    return false
  } catch {
    return true
  }
}

async function requestParsing (app: FastifyInstance, options: RequestParsingOptions): Promise<void> {
  app.addHook('onRequest', (request, _reply, done) => {
    const start = request.url.indexOf('?')
    done(start >= 0 && hasMalformedEncoding(request.url.slice(start + 1)) ? new BadUrl() : undefined)
  })

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

  app.addHook('preValidation', (request, _reply, done) => {
    const schema = routeOf(request).schema?.body as SchemaNode | undefined
    if (schema !== undefined && request.body !== undefined && request.body !== null) {
      dropUnknownNulls(schema, request.body, resolve)
    }
    done()
  })
}

export default fp(requestParsing, { name: 'request-parsing', fastify: '5.x', dependencies: ['audit', 'error-handling'] })
