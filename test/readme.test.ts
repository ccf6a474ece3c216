// The README holds what the code does: its worked policy is the one the policy tests load, and its
// configuration table names every variable the proxy reads.
import { readFile } from 'node:fs/promises'
import t from 'tap'
import { Environment } from '../src/config.js'

t.test('the README shows the two-teams policy exactly as the tests use it', async (t) => {
  const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8')
  const fixture = await readFile(new URL('fixtures/two-teams-policy.yaml', import.meta.url), 'utf8')
  t.ok(readme.includes(`\`\`\`yaml\n${fixture.trimEnd()}\n\`\`\``), 'test/fixtures/two-teams-policy.yaml is in the README verbatim')
})

t.test('the README\'s configuration table names every variable the proxy reads', async (t) => {
  const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8')
  const table = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('\n## ', readme.indexOf('## Configuration') + 1))
  const rows = table.split('\n').filter((line) => line.startsWith('| `'))
  for (const name of Object.keys(Environment.properties)) {
    t.ok(rows.some((row) => row.split('|')[1]?.includes(`\`${name}\``)), name)
  }
})
