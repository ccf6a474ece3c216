// A TCP relay on loopback in front of a real server (PostgreSQL, here), that a test can make
// misbehave the way a network does: stall every connection without a reset (a partition, a
// dropped NAT entry), cut them all, refuse new ones, or deliver a COMMIT to the server and lose
// the server's answer (the server has committed; the client never hears it).
import { connect, createServer, type Socket } from 'node:net'
import type { Test } from 'tap'

export interface TcpRelay {
  /** The relay's port on 127.0.0.1. */
  readonly port: number
  /** Connections opened through the relay so far. */
  readonly opened: number
  /** Stops passing bytes either way, holding them; nothing is closed. */
  stall (): void
  /** Delivers what was held and passes bytes again. */
  resume (): void
  /** Destroys every open connection, both sides. */
  cut (): void
  /** New connections are closed at once (existing ones are left as they are) until accept(). */
  refuse (): void
  accept (): void
  /**
   * The next COMMIT (of a transaction that sent `containing`, when given) reaches the server; its
   * answer is dropped and that connection destroyed.
   */
  loseNextCommitAnswer (containing?: string): void
  /** How many COMMIT answers were lost so far. */
  readonly lostCommits: number
  /** Chunks held back by a stall, towards the server or the client. */
  readonly held: number
}

interface Pair { client: Socket, server: Socket, held: Array<{ to: Socket, chunk: Buffer }>, commitSent: boolean, sawMatch: boolean }

export async function startTcpRelay (t: Test, target: { host: string, port: number }): Promise<TcpRelay> {
  const pairs = new Set<Pair>()
  let stalled = false
  let refusing = false
  let loseCommit = false
  let mustContain: string | undefined
  let lostCommits = 0
  let opened = 0

  const destroy = (pair: Pair): void => {
    pair.client.destroy()
    pair.server.destroy()
    pairs.delete(pair)
  }
  const pass = (pair: Pair, to: Socket, chunk: Buffer): void => {
    if (stalled) pair.held.push({ to, chunk })
    else to.write(chunk)
  }

  const relay = createServer((client) => {
    if (refusing) {
      client.destroy()
      return
    }
    opened++
    const server = connect(target.port, target.host)
    const pair: Pair = { client, server, held: [], commitSent: false, sawMatch: false }
    pairs.add(pair)
    client.on('data', (chunk: Buffer) => {
      // A simple-protocol Query message whose text is COMMIT (pg sends it so, without parameters).
      if (mustContain !== undefined && chunk.includes(mustContain)) pair.sawMatch = true
      if (loseCommit && chunk[0] === 0x51 && chunk.includes('COMMIT')) {
        if (mustContain === undefined || pair.sawMatch) {
          loseCommit = false
          pair.commitSent = true
        }
        pair.sawMatch = false
      }
      pass(pair, server, chunk)
    })
    server.on('data', (chunk: Buffer) => {
      if (pair.commitSent) {
        lostCommits++
        destroy(pair)
        return
      }
      pass(pair, client, chunk)
    })
    for (const socket of [client, server]) {
      socket.on('error', () => destroy(pair))
      socket.on('close', () => destroy(pair))
    }
  })
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    for (const pair of pairs) destroy(pair)
    await new Promise((resolve) => relay.close(resolve))
  })
  const address = relay.address()
  if (address === null || typeof address === 'string') throw new Error('the relay has no port')

  return {
    port: address.port,
    get opened () { return opened },
    get lostCommits () { return lostCommits },
    get held () { return [...pairs].reduce((sum, pair) => sum + pair.held.length, 0) },
    stall () { stalled = true },
    resume () {
      stalled = false
      for (const pair of pairs) {
        for (const { to, chunk } of pair.held.splice(0)) to.write(chunk)
      }
    },
    cut () { for (const pair of pairs) destroy(pair) },
    refuse () { refusing = true },
    accept () { refusing = false },
    loseNextCommitAnswer (containing) {
      loseCommit = true
      mustContain = containing
    }
  }
}
