// The Agent-Id sent to Code Ocean, which shows it in its UI: every run is made with the proxy's
// one token, so this is how Code Ocean's users see which person or script acted.
import type { Identity } from './identity.js'

const MAX_AGENT_ID = 256

/** Fills `{user}` (email, else subject), `{subject}` and `{email}`; anything unprintable becomes `_`. */
export function agentIdFor (template: string, caller: Identity): string {
  const values: Record<string, string> = { user: caller.email || caller.subject, subject: caller.subject, email: caller.email ?? '' }
  const filled = template.replace(/\{(user|subject|email)\}/g, (_, name: string) => values[name] as string)
  return filled.replace(/[^\x20-\x7e]/g, '_').slice(0, MAX_AGENT_ID).trim()
}
