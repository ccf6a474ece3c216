// Gives back the memory that start-up used and no longer needs. Loading the modules, compiling
// the schemas and opening the store grow V8's young generation to its maximum (32 MB with the
// start flags' --max-semi-space-size=16), and V8 shrinks it only at a collection made while
// allocation is slow, which an idle process never makes: the heap would hold it until the first
// traffic. One memory-reducing collection, once the app is built and before it listens, returns it.

/**
 * Runs a full, memory-reducing collection of this thread's heap (the main thread's, or the store
 * worker's) when Node was started with --expose-gc, as `npm start` and the image start it; says
 * whether it ran. It blocks the thread for some tens of ms, so it is for start-up only.
 */
export function returnStartUpMemory (collect: NodeJS.GCFunction | undefined = globalThis.gc): boolean {
  if (collect === undefined) return false
  // 'last-resort' is V8's collection under memory pressure: the one that also shrinks the young
  // generation. A plain major collection leaves it at its size.
  collect({ type: 'major', execution: 'sync', flavor: 'last-resort' })
  return true
}
