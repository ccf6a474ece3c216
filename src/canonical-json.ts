// The one canonical JSON of the project: object keys sorted at every depth, arrays in order, so
// the same value always gives the same text (Idempotency-Key bodies are compared by it, and the
// digest of a record's confidential values is an HMAC of it). Every own key is kept,
// "__proto__" included: sorted into an object without a prototype, it stays data instead of
// silently becoming one and vanishing.

/** The canonical text of `value`; '' for undefined (no body at all), unlike a JSON null. */
export function canonicalJson (value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) return item
    const sorted = Object.create(null) as Record<string, unknown>
    for (const key of Object.keys(item).sort()) sorted[key] = (item as Record<string, unknown>)[key]
    return sorted
  }) ?? ''
}
