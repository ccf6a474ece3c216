// Builds the Code Ocean request target from a route template and validated values only, and
// refuses any result that would leave the configured origin or the `/api/v1/` prefix.
//
// A template is checked once, with the WHATWG URL parser, the first time it is used with a
// target: its literal segments then stay as they are. Each value is checked on every call, and
// that is enough for the whole path: encodeURIComponent leaves only A–Z a–z 0–9 - _ . ! ~ * ' ( )
// and %XX, none of which the parser changes in a path (its percent-encode set is controls,
// space, " # < > ? ` { }), and since it encodes `%` no value can spell a dot segment (`%2e`)
// except `.` and `..` themselves, which are refused.
import assert from 'node:assert/strict'

export const API_PREFIX = '/api/v1/'

export interface UpstreamTarget {
  origin: string
  basePath: string
}

/** A template split once: its literal segments as they are, and the names of its `:name` ones. */
type Segment = { literal: string } | { param: string }

/** A template checked for the origin and base path it was checked with. */
interface Compiled { origin: string, basePath: string, segments: readonly Segment[] }

const compiled = new WeakMap<UpstreamTarget, Map<string, Compiled>>()

function segmentsOf (target: UpstreamTarget, template: string): readonly Segment[] {
  let templates = compiled.get(target)
  if (templates === undefined) compiled.set(target, templates = new Map())
  let held = templates.get(template)
  // A target changed since (nothing changes one today) has its templates checked again.
  if (held === undefined || held.origin !== target.origin || held.basePath !== target.basePath) {
    held = { origin: target.origin, basePath: target.basePath, segments: compile(target, template) }
    // Route templates are a fixed, small set: what is held is bounded by the routes.
    templates.set(template, held)
  }
  return held.segments
}

function compile (target: UpstreamTarget, template: string): readonly Segment[] {
  assert.ok(template.startsWith(API_PREFIX), `route ${template} is not under ${API_PREFIX}`)
  const segments: Segment[] = template.split('/').map((segment) => segment.startsWith(':') ? { param: segment.slice(1) } : { literal: segment })
  // The template with a plain value in each parameter must come out of the parser as it went in.
  const pathname = target.basePath + segments.map((segment) => 'literal' in segment ? segment.literal : 'x').join('/')
  const url = new URL(pathname, target.origin)
  assert.equal(url.origin, target.origin, 'upstream URL left the configured origin')
  assert.equal(url.pathname, pathname, 'upstream URL path was normalised')
  assert.ok(url.pathname.startsWith(target.basePath + API_PREFIX), 'upstream URL left the API prefix')
  return segments
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
  const segments = segmentsOf(target, template)
  let pathname = target.basePath
  for (let index = 0; index < segments.length; index++) {
    const segment = segments[index] as Segment
    if (index > 0) pathname += '/'
    if ('literal' in segment) {
      pathname += segment.literal
      continue
    }
    const value = params[segment.param]
    assert.ok(typeof value === 'string' && value !== '', `route parameter :${segment.param} is missing`)
    assert.ok(value !== '.' && value !== '..', `route parameter :${segment.param} is a dot segment`)
    pathname += encodeURIComponent(value)
  }
  let search: URLSearchParams | undefined
  for (const name of Object.keys(query)) {
    const value = query[name]
    if (typeof value === 'string') (search ??= new URLSearchParams()).append(name, value)
  }
  // Form encoding leaves only A–Z a–z 0–9 * - . _ + %XX = &, which the parser keeps as they are.
  return search === undefined ? pathname : `${pathname}?${search.toString()}`
}
