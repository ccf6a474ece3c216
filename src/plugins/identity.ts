// Works out who each request comes from before anything else looks at it, so even a refused
// request's audit records name the caller (or say why none could be proven). Refusing is left
// to the authorization plugin, which runs after the audit has started; the budget of failed
// credentials is told at once how it ended (plugins/unauthenticated-limits.ts).
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { agentIdFor } from '../identity/agent-id.js'
import type { Authenticator } from '../identity/authenticate.js'
import type { Caller } from '../identity/caller.js'
// The route contract says whether a route needs a caller.
import '../contract/route-contract.js'
import { routeOf } from '../contract/route-of-request.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The proven caller or why none could be proven; null on routes that identify no one (no contract). */
    caller: Caller | null
    /** The Agent-Id Code Ocean is sent for this caller; empty for none. */
    agentId: string
  }
}

export interface IdentityPluginOptions {
  authenticator: Authenticator
  agentIdTemplate: string
}

async function identity (app: FastifyInstance, options: IdentityPluginOptions): Promise<void> {
  const { authenticator, agentIdTemplate } = options
  app.decorateRequest('caller', null)
  app.decorateRequest('agentId', '')
  app.addHook('onRequest', async (request) => {
    // Only a route with a contract needs a caller: operational routes and unknown URLs cost no
    // JWT check or key lookup (an unknown URL is still audited, without an actor).
    const { contract } = routeOf(request).config
    if (contract === undefined) return
    const { raw } = request
    const caller = await authenticator.callerOf({
      headers: request.headers,
      peer: request.socket.remoteAddress,
      // Read only where the gateway's identity headers are checked. Node builds it (an array for
      // every header) at the first read; undefined under app.inject, whose requests are not IncomingMessages.
      get headersDistinct () { return raw.headersDistinct }
    }, contract.action)
    request.caller = caller
    if (caller.proven) request.agentId = agentIdFor(agentIdTemplate, caller.identity)
    app.credentialChecked(request, caller)
  })
}

export default fp(identity, { name: 'identity', fastify: '5.x', dependencies: ['unauthenticated-limits'] })
