// The README's worked policy is the one the policy tests load, so the documented example is
// always one that parses and behaves as the tests say.
import { readFile } from 'node:fs/promises'
import t from 'tap'

t.test('the README shows the two-teams policy exactly as the tests use it', async (t) => {
  const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8')
  const fixture = await readFile(new URL('fixtures/two-teams-policy.yaml', import.meta.url), 'utf8')
  t.ok(readme.includes(`\`\`\`yaml\n${fixture.trimEnd()}\n\`\`\``), 'test/fixtures/two-teams-policy.yaml is in the README verbatim')
})
