// The ownership slice of the store: who started each computation through the proxy, written once
// when a run is answered and read by authorization for every call on a computation.

/** Who started a computation through the proxy, and what it runs. */
export interface OwnerRow {
  computationId: string
  subject: string
  groups: string[]
  capsuleId: string | null
  pipelineId: string | null
  createdAt: string
  /**
   * Recorded since service keys have a namespace of their own (`key:`): the subject is exactly
   * the caller's. False for owners recorded before, where a key's subject was bare.
   */
  namespaced: boolean
}

export interface OwnershipStore {
  /** Records who started a computation; the first record for an id wins. */
  recordOwner (row: OwnerRow): Promise<void>
  /** The owners recorded for these ids (ids without one are absent from the map). */
  ownersOf (computationIds: readonly string[]): Promise<Map<string, OwnerRow>>
}
