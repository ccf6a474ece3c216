// Which polls are the same question, so that they can share one call and a remembered answer.
// Code Ocean answers a poll alike whoever asks and whatever Accept says, but it refuses one whose
// Min-Server-Version it does not meet. The official SDK sends that header on every request, so
// polls carrying the same value are one question; polls carrying different values are not.
import type { UpstreamCall } from './client.js'

/** What Code Ocean accepts as a version (major.minor.patch); anything else is not shared. */
const VERSION = /^\d{1,6}\.\d{1,6}\.\d{1,6}$/
/**
 * Versions remembered at most: a handful of SDK releases in practice. Past it a poll of a new
 * version is still answered, just not shared, so callers cannot grow this set or slow
 * invalidation.
 */
export const MAX_VERSIONS = 16

export class PollKeys {
  /** Every Min-Server-Version a poll has been shared under: a change must forget each one's answer. */
  readonly #versions = new Set<string>()

  /** The key a poll shares its call and answer under; undefined for one that is not shared. */
  keyOf (call: Pick<UpstreamCall, 'path' | 'headers'>): string | undefined {
    const version = call.headers['min-server-version']
    if (version === undefined) return call.path
    if (typeof version !== 'string' || !VERSION.test(version)) return undefined
    if (!this.#versions.has(version)) {
      if (this.#versions.size >= MAX_VERSIONS) return undefined
      this.#versions.add(version)
    }
    // A path is percent-encoded, so it never holds a line break: no two calls share a key by accident.
    return `${call.path}\n${version}`
  }

  /** Every key a poll of `path` may have been shared under. */
  keysOf (path: string): string[] {
    return [path, ...Array.from(this.#versions, (version) => `${path}\n${version}`)]
  }
}
