// Which polls are the same question, so that they can share one call and a remembered answer.
// Code Ocean answers a poll alike whoever asks and whatever Accept says, but it refuses one whose
// Min-Server-Version it does not meet. The official SDK sends that header on every request, so
// polls carrying the same value are one question; polls carrying different values are not. A
// versioned poll's key is a variant of the plain one's, so a change forgets both (see
// Coalescer.invalidate).
import type { UpstreamCall } from './client.js'

/** What Code Ocean accepts as a version (major.minor.patch); anything else is not shared. */
const VERSION = /^\d{1,6}\.\d{1,6}\.\d{1,6}$/

/** The key a poll shares its call and answer under; undefined for one that is not shared. */
export function pollKeyOf (call: Pick<UpstreamCall, 'path' | 'headers'>): string | undefined {
  const version = call.headers['min-server-version']
  if (version === undefined) return call.path
  // A path is percent-encoded, so it never holds a line break: no two calls share a key by accident.
  return VERSION.test(version) ? `${call.path}\n${version}` : undefined
}
