// The URL attributes of request spans, incoming and outgoing, with every query value replaced:
// the query carries a rename's name and a result's path, which the audit keeps only as HMACs,
// and a span goes to a collector the audit's rules do not cover. Paths hold route templates'
// ids only, and stay as they are.
import type { Attributes } from '@opentelemetry/api'

export const REDACTED = 'REDACTED'

/** `?a=REDACTED&b=REDACTED` for `?a=1&b=2` (the names say what was asked); '' for no query. */
export function redactedQuery (search: string): string {
  const names = [...new URLSearchParams(search).keys()]
  return names.length === 0 ? '' : `?${new URLSearchParams(names.map((name): [string, string] => [name, REDACTED])).toString()}`
}

/** url.path and url.query of an incoming request, from its request target (path and query). */
export function incomingUrlAttributes (target: string): Attributes {
  const queryAt = target.indexOf('?')
  if (queryAt === -1) return { 'url.path': target }
  return { 'url.path': target.slice(0, queryAt), 'url.query': redactedQuery(target.slice(queryAt)) }
}

/** url.full, url.path and url.query of an outgoing call, from undici's origin and request path. */
export function outgoingUrlAttributes (origin: string, path: string): Attributes {
  const url = new URL(path, origin)
  const query = redactedQuery(url.search)
  return { 'url.full': `${url.origin}${url.pathname}${query}`, 'url.path': url.pathname, 'url.query': query }
}
