// The documentation holds what the code does: the policy guide's worked policy is the one the
// policy tests load, the configuration table names every variable the proxy reads, the error
// table every code, and the README links every page of docs/.
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

const read = async (path: string): Promise<string> => await readFile(new URL(`../${path}`, import.meta.url), 'utf8')

/** One section of a page: from its heading to the next heading of the same level, or the end. */
function section (text: string, heading: string): string {
  const start = text.indexOf(`${heading}\n`)
  if (start === -1) throw new Error(`no ${heading}`)
  const level = /^#+ /.exec(heading)?.[0] as string
  const end = text.indexOf(`\n${level}`, start + 1)
  return text.slice(start, end === -1 ? undefined : end)
}

t.test('docs/policy.md shows the two-teams policy exactly as the tests use it', async (t) => {
  const readme = await read('docs/policy.md')
  const fixture = await readFile(new URL('fixtures/two-teams-policy.yaml', import.meta.url), 'utf8')
  t.ok(readme.includes(`\`\`\`yaml\n${fixture.trimEnd()}\n\`\`\``), 'test/fixtures/two-teams-policy.yaml is in the README verbatim')
})

t.test('docs/configuration.md names every variable the proxy reads', async (t) => {
  const table = await read('docs/configuration.md')
  const rows = table.split('\n').filter((line) => line.startsWith('| `'))
  for (const name of Object.keys(Environment.properties)) {
    t.ok(rows.some((row) => row.split('|')[1]?.includes(`\`${name}\``)), name)
  }
})

t.test('the error table of docs/api.md names every code in src/errors.ts, and no other', async (t) => {
  const table = section(await read('docs/api.md'), '### Errors').split('\n').filter((line) => line.startsWith('| '))
  const documented = new Set(table.flatMap((row) => [...(row.split('|')[2] ?? '').matchAll(/`(PROXY_[A-Z_]+)`/g)].map((match) => match[1] as string)))
  const defined = definedErrorCodes()
  t.ok(defined.length > 20, 'the codes are found in src/errors.ts')
  t.same([...documented].sort(), [...new Set(defined)].sort())
})

t.test('the README links every page of docs/, and every relative link of the documentation leads to a file', async (t) => {
  const { readdir } = await import('node:fs/promises')
  const { existsSync } = await import('node:fs')
  const { dirname, join } = await import('node:path')
  const { fileURLToPath } = await import('node:url')
  const root = fileURLToPath(new URL('..', import.meta.url))
  const pages = (await readdir(join(root, 'docs'))).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)
  t.ok(pages.length >= 8, `${pages.length} pages`)
  const readme = await read('README.md')
  for (const page of pages) t.ok(readme.includes(`](${page})`), `the README links ${page}`)
  for (const page of ['README.md', ...pages]) {
    const text = await read(page)
    for (const [, target] of text.matchAll(/\]\(((?!https?:|#|mailto:)[^)#\s]+)(#[^)]*)?\)/g)) {
      t.ok(existsSync(join(root, dirname(page), target as string)), `${page} links ${target}`)
    }
  }
})
