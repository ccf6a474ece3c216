// What every SQLite slice does with a failure: it becomes a StoreError naming the operation.
import { StoreError } from '../store.js'

/** Runs one store operation, turning any database failure into a StoreError. */
export function guarded<T> (what: string, operation: () => T): T {
  try {
    return operation()
  } catch (error) {
    throw new StoreError(`SQLite store: ${what} failed`, { cause: error })
  }
}
