// The Agent-Id Code Ocean shows for each run: the template filled in for the caller, printable
// and bounded whatever the identity holds.
import t from 'tap'
import { agentIdFor } from '../../src/identity/agent-id.js'
import type { Identity } from '../../src/identity/identity.js'

function caller (subject: string, email: string | null = null): Identity {
  return { subject, email, groups: [], method: 'jwt', keyId: null }
}

t.test('{user} is the email when there is one', async (t) => {
  t.equal(agentIdFor('codeocean-proxy/{user}', caller('u-123', 'alice@example.org')), 'codeocean-proxy/alice@example.org')
})

t.test('{user} falls back to the subject when there is no email', async (t) => {
  t.equal(agentIdFor('codeocean-proxy/{user}', caller('ci-nightly')), 'codeocean-proxy/ci-nightly')
})

t.test('{subject} and {email} are filled as they are, {email} empty when there is none', async (t) => {
  t.equal(agentIdFor('{subject} <{email}>', caller('u-123', 'alice@example.org')), 'u-123 <alice@example.org>')
  t.equal(agentIdFor('{subject} <{email}>', caller('u-123')), 'u-123 <>')
})

t.test('every placeholder is filled, each as often as it appears', async (t) => {
  t.equal(agentIdFor('{user}|{subject}|{email}|{user}', caller('s', 'e@x')), 'e@x|s|e@x|e@x')
})

t.test('text that is not one of the three placeholders is left as it is', async (t) => {
  t.equal(agentIdFor('{name} {USER} {user', caller('alice')), '{name} {USER} {user')
})

t.test('values are inserted literally: no second expansion, no replacement patterns', async (t) => {
  t.equal(agentIdFor('p/{user}', caller('{subject}')), 'p/{subject}', 'a subject that looks like a placeholder')
  t.equal(agentIdFor('p/{user}', caller("$&$'$`$1")), "p/$&$'$`$1", 'a subject holding String.replace patterns')
})

t.test('unprintable characters, from the template or the identity, become underscores', async (t) => {
  t.equal(agentIdFor('p/{user}', caller('ali\nce\t\u0000')), 'p/ali_ce__')
  t.equal(agentIdFor('p\u00e9/{user}', caller('jos\u00e9')), 'p_/jos_', 'non-ASCII too')
  t.equal(agentIdFor('p/{user}', caller('\u{1F600}')), 'p/__', 'a character outside the BMP is two code units, two underscores')
  t.equal(agentIdFor('p/{user}', caller('a\u007fb')), 'p/a_b', 'DEL is not printable')
})

t.test('the Agent-Id is cut to 256 characters', async (t) => {
  const agentId = agentIdFor('codeocean-proxy/{subject}', caller('x'.repeat(1000)))
  t.equal(agentId.length, 256)
  t.equal(agentId, `codeocean-proxy/${'x'.repeat(240)}`)
})

t.test('surrounding spaces are trimmed, after the cut too', async (t) => {
  t.equal(agentIdFor('  p/{user}  ', caller('alice')), 'p/alice')
  t.equal(agentIdFor('{subject}', caller(`${'x'.repeat(255)} y`)), 'x'.repeat(255), 'a space left last by the cut is trimmed')
})

t.test('{user} falls back to the subject for an empty email too', async (t) => {
  t.equal(agentIdFor('codeocean-proxy/{user}', caller('alice', '')), 'codeocean-proxy/alice')
})
