// Variables that look like the proxy's but are not one it reads: a misspelt name would otherwise
// be ignored without a word, and the proxy would run on the default it was meant to change.
import { Environment } from './config.js'

/**
 * The prefixes that mark a variable as the proxy's. Prefixes other software shares (OTEL_ has
 * OpenTelemetry's own variables, LOG_, DATABASE_, REDIS_, AGENT_ are everyone's) are left out, so
 * that only names meant for the proxy are warned about.
 */
export const OWN_PREFIXES = [
  'CODEOCEAN_', 'UPSTREAM_', 'AUDIT_', 'GATEWAY_', 'TRUSTED_', 'POLICY_', 'IDEMPOTENCY_', 'POLL_',
  'RATE_LIMIT_', 'METRICS_', 'SHUTDOWN_', 'OVERLOAD_', 'BREAKER_', 'STORE_'
] as const

const KNOWN: readonly string[] = Object.keys(Environment.properties)

/** One warning for each variable set under the proxy's prefixes that it does not read, naming the closest it does. */
export function strayVariableWarnings (env: Readonly<Record<string, string | undefined>>): string[] {
  return Object.keys(env)
    .filter((name) => OWN_PREFIXES.some((prefix) => name.startsWith(prefix)) && !KNOWN.includes(name))
    .sort()
    .map((name) => `${name} is set, but codeocean-proxy reads no such variable and ignores it: did you mean ${closestKnown(name)}?`)
}

function closestKnown (name: string): string {
  let best = KNOWN[0] as string
  let bestDistance = Infinity
  for (const known of KNOWN) {
    const distance = editDistance(name, known)
    if (distance < bestDistance) {
      best = known
      bestDistance = distance
    }
  }
  return best
}

/** The fewest single-character insertions, deletions and substitutions that turn `a` into `b`. */
function editDistance (a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1)
      current.push(Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, substitution))
    }
    previous = current
  }
  return previous[b.length] as number
}
