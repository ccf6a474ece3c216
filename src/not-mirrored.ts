// The parts of Code Ocean's API this proxy does not mirror. It serves the Computations API only;
// a call to Code Ocean's other resources (a capsule itself, data assets, …) is told so, rather
// than answered as if it had got the path wrong.

/** Code Ocean's resources under /api/v1 whose own endpoints the proxy does not serve. */
const UNMIRRORED_RESOURCES: ReadonlyMap<string, string> = new Map([
  ['capsules', 'capsules'],
  ['pipelines', 'pipelines'],
  ['data_assets', 'data assets'],
  ['custom_metadata', 'custom metadata']
])

/** What the proxy does serve below those resources: their computations (any other method there is no endpoint). */
const MIRRORED_BELOW = /^(?:capsules|pipelines)\/[^/]+\/computations$/

/**
 * The Code Ocean resource, in words, that `path` (a request path, no query) calls and the proxy
 * does not serve; undefined for anything else, including paths outside `apiPrefix`.
 */
export function unmirroredResourceOf (path: string, apiPrefix: string): string | undefined {
  // The router ignores duplicate and trailing slashes: so does this.
  const normalized = path.replace(/\/{2,}/g, '/').replace(/\/$/, '')
  if (!normalized.startsWith(`${apiPrefix}/`)) return undefined
  const below = normalized.slice(apiPrefix.length + 1)
  if (MIRRORED_BELOW.test(below)) return undefined
  return UNMIRRORED_RESOURCES.get(below.split('/', 1)[0] as string)
}
