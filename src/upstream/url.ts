// Builds the Code Ocean request target from a route template and validated values only, and
// refuses any result that would leave the configured origin or the `/api/v1/` prefix.
import assert from 'node:assert/strict'

export const API_PREFIX = '/api/v1/'

export interface UpstreamTarget {
  origin: string
  basePath: string
}

/**
 * `/api/v1/computations/:computation_id/results` + `{ computation_id }` → the path to request.
 * Every `:name` segment is encoded with encodeURIComponent; query values are form-encoded the
 * way the SDK sends them (space as `+`).
 */
export function upstreamPath (
  target: UpstreamTarget,
  template: string,
  params: Readonly<Record<string, unknown>>,
  query: Readonly<Record<string, unknown>> = {}
): string {
  assert.ok(template.startsWith(API_PREFIX), `route ${template} is not under ${API_PREFIX}`)
  const segments = template.split('/').map((segment) => {
    if (!segment.startsWith(':')) return segment
    const value = params[segment.slice(1)]
    assert.ok(typeof value === 'string' && value !== '', `route parameter ${segment} is missing`)
    assert.ok(value !== '.' && value !== '..', `route parameter ${segment} is a dot segment`)
    return encodeURIComponent(value)
  })
  const pathname = target.basePath + segments.join('/')

  const search = new URLSearchParams()
  for (const [name, value] of Object.entries(query)) {
    if (typeof value === 'string') search.append(name, value)
  }
  const searchText = search.toString()
  const path = searchText === '' ? pathname : `${pathname}?${searchText}`

  // The parsed URL must be exactly what was built: same origin, no normalisation, inside the prefix.
  const url = new URL(path, target.origin)
  assert.equal(url.origin, target.origin, 'upstream URL left the configured origin')
  assert.equal(url.pathname, pathname, 'upstream URL path was normalised')
  assert.ok(url.pathname.startsWith(target.basePath + API_PREFIX), 'upstream URL left the API prefix')
  return path
}
