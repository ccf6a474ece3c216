// Tamper evidence: each audit record's hash covers the previous record's hash and its own
// canonical JSON, so editing or removing a record breaks every link after it.
import { createHash } from 'node:crypto'

/** JSON with object keys sorted at every depth: the same record always hashes the same. */
export function canonicalJson (value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) return item
    const sorted: Record<string, unknown> = {}
    for (const key of Object.keys(item).sort()) sorted[key] = (item as Record<string, unknown>)[key]
    return sorted
  })
}

/** The hash that a chain's first record links to. */
export function chainAnchor (instanceId: string): string {
  return createHash('sha256').update(`codeocean-proxy audit chain ${instanceId}`).digest('hex')
}

export function linkHash (prevHash: string, seq: number, body: string): string {
  return createHash('sha256').update(`${prevHash}\n${seq}\n${body}`).digest('hex')
}
