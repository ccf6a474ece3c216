// Wires the Code Ocean client into the app: routes get `app.forwardToCodeOcean` as their
// handler, and the pool and token watcher close with the app.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { UpstreamClient } from '../upstream/client.js'
import { forwardToCodeOcean } from '../upstream/forward.js'

export interface UpstreamPluginOptions {
  upstream: UpstreamClient
}

/**
 * Resolves to the reply (an async handler that has sent must return it). Typed `any` so one
 * handler fits every route's type-provider generics; what it sends is upstream's, not a schema's.
 */
export type ForwardHandler = (request: FastifyRequest, reply: FastifyReply) => Promise<any>

declare module 'fastify' {
  interface FastifyInstance {
    /** The route handler of every mirrored endpoint. */
    forwardToCodeOcean: ForwardHandler
  }
}

async function upstreamPlugin (app: FastifyInstance, options: UpstreamPluginOptions): Promise<void> {
  const { upstream } = options
  const forward: ForwardHandler = async (request, reply) => await forwardToCodeOcean(upstream, request, reply)
  app.decorate('forwardToCodeOcean', forward)
  app.addHook('onClose', async () => {
    await upstream.close()
  })
}

export default fp(upstreamPlugin, { name: 'upstream', fastify: '5.x', dependencies: ['audit'] })
