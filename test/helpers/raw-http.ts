// A caller speaking HTTP/1.1 by hand over a real socket, for what a client library will not do:
// drip a request a byte at a time, stop half-way, send broken HTTP. It records what came back and
// when the proxy closed the connection.
import { connect, type Socket } from 'node:net'

export interface RawExchange {
  socket: Socket
  /** Resolves once the proxy has closed the connection, with all it sent and how long after connecting. */
  closed: Promise<{ text: string, afterMs: number }>
  /** Everything received so far. */
  received (): string
}

export async function openRaw (origin: string): Promise<RawExchange> {
  const { hostname, port } = new URL(origin)
  const socket = connect(Number(port), hostname)
  const started = Date.now()
  let text = ''
  socket.on('data', (chunk: Buffer) => { text += chunk.toString('latin1') })
  // A reset from the proxy is a close like any other here.
  socket.on('error', () => {})
  const closed = new Promise<{ text: string, afterMs: number }>((resolve) => {
    socket.once('close', () => { resolve({ text, afterMs: Date.now() - started }) })
  })
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  return { socket, closed, received: () => text }
}

/** Writes `piece` every `everyMs` until the connection closes (or `limit` pieces are written). */
export function drip (exchange: RawExchange, piece: string, everyMs: number, limit = 1000): void {
  let written = 0
  const timer = setInterval(() => {
    if (exchange.socket.destroyed || exchange.socket.writableEnded || written++ >= limit) {
      clearInterval(timer)
      return
    }
    exchange.socket.write(piece)
  }, everyMs)
  exchange.socket.once('close', () => { clearInterval(timer) })
}

/** The status code and JSON body of the one answer in `text`. */
export function answerIn (text: string): { status: number, headers: string, body: Record<string, unknown> } {
  const end = text.indexOf('\r\n\r\n')
  // Each header line ends in CRLF, the last one too.
  const head = text.slice(0, end + 2)
  return {
    status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]),
    headers: head.toLowerCase(),
    body: JSON.parse(text.slice(end + 4)) as Record<string, unknown>
  }
}
