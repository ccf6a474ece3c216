// `npm run audit:verify` on a path where there is no database: a mistyped AUDIT_DB_PATH, or the
// command run from another folder, must not make an empty database and call it verified.
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { runToEnd } from '../helpers/spawn-child.js'

t.test('where there is no database, it exits 2 with one line and makes nothing', async (t) => {
  const directory = await mkdtemp(join(tmpdir(), 'codeocean-proxy-verify-'))
  t.teardown(() => rm(directory, { recursive: true, force: true }))
  const path = join(directory, 'data', 'codeocean-proxy.sqlite')
  const { code, stdout, stderr } = await runToEnd(process.execPath, ['--import', 'tsx', 'src/cli/audit-verify.ts'], { AUDIT_DB_PATH: path })
  t.equal(code, 2)
  t.equal(stdout, '', 'no OK about nothing')
  t.equal(stderr, `there is no database at ${path}: set AUDIT_DB_PATH to the proxy's (a relative path is read from the current folder); the proxy makes it when it first starts\n`)
  t.same(await readdir(directory), [], 'no file, no folder')
})
