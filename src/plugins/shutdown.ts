// Closing without dropping anything: in-flight requests finish, answers sent while closing tell
// the client not to reuse the connection, and kept-alive connections are closed as soon as they
// fall idle; otherwise close would wait out the keep-alive timeout (72 s) after the last answer.
// So are connections that have not sent a byte: Node's closeIdleConnections leaves them open, and
// clients open them ahead of need (undici reconnects as soon as a connection it used closes, load
// balancers keep spares), so without this a drain waited for its deadline and exited 1.
import type { Socket } from 'node:net'
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

  // Open connections, until they close: few, and each is forgotten when it closes.
  const open = new Set<Socket>()
  app.server.on('connection', (socket: Socket) => {
    open.add(socket)
    socket.once('close', () => open.delete(socket))
  })
  const sweep = (): void => {
    app.server.closeIdleConnections()
    // Nothing read, so no request begun: nobody waits for an answer on it.
    for (const socket of open) if (socket.bytesRead === 0) socket.destroy()
  }

  app.addHook('preClose', async () => {
    closing = true
    sweep()
    sweeper = setInterval(sweep, IDLE_SWEEP_MS)
    sweeper.unref()
  })
  app.addHook('onClose', async () => {
    clearInterval(sweeper)
  })
  app.addHook('onSend', (_request, reply, _payload, done) => {
    if (closing) reply.header('connection', 'close')
    done()
  })
}

export default fp(shutdown, { name: 'shutdown', fastify: '5.x' })
