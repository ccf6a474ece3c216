// What every PostgreSQL slice does with the pool: turn a failure into a StoreError, and run
// several statements in one transaction on one pooled connection.
import type pg from 'pg'
import { StoreError } from '../store.js'

export async function guarded<T> (what: string, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation()
  } catch (error) {
    throw new StoreError(`PostgreSQL store: ${what} failed`, { cause: error })
  }
}

/** Runs `work` in one transaction on one pooled connection. */
export async function inTransaction<T> (pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect()
  // A connection lost while checked out also emits 'error' on the client: unheard, it would
  // crash the process. The failing query rejects as well, which is what is acted on.
  const ignore = (): void => {}
  client.on('error', ignore)
  try {
    await client.query('BEGIN')
    const result = await work(client)
    await client.query('COMMIT')
    client.off('error', ignore)
    client.release()
    return result
  } catch (error) {
    // Destroyed, not rolled back: the connection may be the reason (stalled, cut), and a
    // ROLLBACK on it would wait out another timeout. Closing it ends the transaction server-side.
    client.off('error', ignore)
    client.release(true)
    throw error
  }
}
