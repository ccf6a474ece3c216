// The health slice of the store: what readiness asks to learn whether the database answers.

export interface HealthStore {
  /** Resolves when the store answers a trivial query. */
  ping (): Promise<void>
}
