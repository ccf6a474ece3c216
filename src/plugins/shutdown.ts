// Closing without dropping anything: in-flight requests finish, answers sent while closing tell
// the client not to reuse the connection, and kept-alive connections are closed as soon as they
// fall idle; otherwise close would wait out the keep-alive timeout (72 s) after the last answer.
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'

declare module 'fastify' {
  interface FastifyInstance {
    /** True from the moment close begins: readiness turns red while in-flight requests finish. */
    readonly draining: boolean
  }
}

const IDLE_SWEEP_MS = 100

async function shutdown (app: FastifyInstance): Promise<void> {
  let closing = false
  let sweeper: NodeJS.Timeout | undefined
  app.decorate('draining', { getter: () => closing })

  app.addHook('preClose', async () => {
    closing = true
    sweeper = setInterval(() => app.server.closeIdleConnections(), IDLE_SWEEP_MS)
    sweeper.unref()
  })
  app.addHook('onClose', async () => {
    clearInterval(sweeper)
  })
  app.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('connection', 'close')
  })
}

export default fp(shutdown, { name: 'shutdown', fastify: '5.x' })
