// The README holds what the code does: its worked policy is the one the policy tests load, its
// configuration table names every variable the proxy reads, and its error table every code.
import { readFile } from 'node:fs/promises'
import { FastifyError } from '@fastify/error'
import t from 'tap'
import { Environment } from '../src/config.js'
import * as errors from '../src/errors.js'

/** The codes of the errors src/errors.ts defines (every createError of the project). */
function definedErrorCodes (): string[] {
  // ConfigError is the one export that is not a createError (it reports start-up problems).
  return Object.values(errors).flatMap((value) =>
    Object.create(value.prototype as object) instanceof FastifyError ? [(new (value as new () => FastifyError)()).code] : [])
}

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

t.test('the README\'s error table names every code in src/errors.ts, and no other', async (t) => {
  const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8')
  const start = readme.indexOf('### Errors')
  const table = readme.slice(start, readme.indexOf('\n## ', start)).split('\n').filter((line) => line.startsWith('| '))
  const documented = new Set(table.flatMap((row) => [...(row.split('|')[2] ?? '').matchAll(/`(PROXY_[A-Z_]+)`/g)].map((match) => match[1] as string)))
  const defined = definedErrorCodes()
  t.ok(defined.length > 20, 'the codes are found in src/errors.ts')
  t.same([...documented].sort(), [...new Set(defined)].sort())
})
