// A request id on every request and response: a well-formed incoming X-Request-Id is kept
// (so a trace spans the gateway, the proxy and Code Ocean), anything else is replaced.
import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'

export const REQUEST_ID_HEADER = 'x-request-id'
const WELL_FORMED = /^[A-Za-z0-9._:@/+=-]{8,128}$/

/** Fastify's genReqId. */
export function requestIdOf (request: IncomingMessage): string {
  const incoming = request.headers[REQUEST_ID_HEADER]
  return typeof incoming === 'string' && WELL_FORMED.test(incoming) ? incoming : randomUUID()
}

async function requestId (app: FastifyInstance): Promise<void> {
  app.addHook('onRequest', (request, reply, done) => {
    reply.header(REQUEST_ID_HEADER, request.id)
    done()
  })
}

export default fp(requestId, { name: 'request-id', fastify: '5.x' })
