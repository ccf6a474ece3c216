import { readFile } from 'node:fs/promises'
import t from 'tap'
import { VERSION } from '../src/version.js'

t.test('the version in code is the package version', async (t) => {
  const pkg = JSON.parse(await readFile('package.json', 'utf8')) as { version: string }
  t.equal(VERSION, pkg.version)
})
