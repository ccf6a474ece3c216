// Revocations announced to every instance sharing PostgreSQL: revoking a key notifies a channel
// (keys.ts), and each instance listens on a connection of its own and forgets what it holds of
// that key (identity/service-keys.ts), so the revocation holds at once rather than within
// SERVICE_KEY_CACHE_MS. The listening connection is only a shortcut: while it is down (the
// database restarting, a network cut), held rows still expire within that time, and it
// reconnects by itself. Notifications need a session of their own: through a pooler in
// transaction mode (PgBouncer) none arrive, and revocations hold within SERVICE_KEY_CACHE_MS.
import pg from 'pg'

export const KEY_REVOKED_CHANNEL = 'codeocean_proxy_key_revoked'
/** How long to wait before connecting again after the listening connection failed. */
const RECONNECT_MS = 1_000
/** How long closing waits for the server to say goodbye before it drops the connection. */
const CLOSE_WAIT_MS = 1_000

export interface RevocationListenerOptions {
  connectionString: string
  /** Told the id of each key revoked anywhere (any schema of the database: a spare forget is harmless). */
  onRevoked: (keyId: string) => void
  /** Told when the connection fails (it is made again RECONNECT_MS later). */
  onError: (error: Error) => void
  /** The most connecting may take; default 5000 ms. */
  connectTimeoutMs?: number | undefined
  /** How the connection is named in pg_stat_activity; default APPLICATION_NAME. */
  applicationName?: string
}

export const APPLICATION_NAME = 'codeocean-proxy key revocations'

export interface RevocationListener {
  /** Resolves once the first LISTEN has been answered or has failed (start-up does not wait longer). */
  readonly started: Promise<void>
  close (): Promise<void>
}

export function listenForRevocations (options: RevocationListenerOptions): RevocationListener {
  let closed = false
  // Set before the first await of connect(): there is always one.
  let client!: pg.Client
  let retry: NodeJS.Timeout | undefined
  const connect = async (): Promise<void> => {
    const current = new pg.Client({
      connectionString: options.connectionString,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
      // A peer gone without a reset is noticed within seconds, not the system's two hours.
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      application_name: options.applicationName ?? APPLICATION_NAME
    })
    client = current
    let failed = false
    const fail = (error: Error): void => {
      if (failed || closed) return
      failed = true
      options.onError(error)
      void current.end().catch(() => {})
      retry = setTimeout(() => { void connect() }, RECONNECT_MS).unref()
    }
    current.on('error', fail)
    current.on('end', () => { fail(new Error('the connection listening for key revocations ended')) })
    current.on('notification', (message) => {
      if (message.channel === KEY_REVOKED_CHANNEL && message.payload !== undefined) options.onRevoked(message.payload)
    })
    try {
      await current.connect()
      await current.query(`LISTEN ${KEY_REVOKED_CHANNEL}`)
    } catch (error) {
      fail(error as Error)
    }
  }
  const started = connect()
  return {
    started,
    async close () {
      closed = true
      clearTimeout(retry)
      // A database gone without a reset would hold end() until the socket times out: closing
      // waits a moment for a goodbye, then drops the connection whatever came of it.
      let timer: NodeJS.Timeout | undefined
      await Promise.race([
        client.end().catch(() => {}),
        new Promise<void>((resolve) => { timer = setTimeout(resolve, CLOSE_WAIT_MS) })
      ])
      clearTimeout(timer)
      const { connection } = client as unknown as { connection: { stream: { destroy: () => void } } }
      connection.stream.destroy()
    }
  }
}
