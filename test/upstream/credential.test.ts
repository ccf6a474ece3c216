// The credential: Basic with the token as username; a token file is re-read when it changes.
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { ConfigError } from '../../src/errors.js'
import { basicAuthorization, loadCredential } from '../../src/upstream/credential.js'
import { createLogSink } from '../helpers/log-sink.js'

t.test('the token becomes Basic base64(token + ":")', async (t) => {
  t.equal(basicAuthorization('cop_TEST'), 'Basic Y29wX1RFU1Q6')
  const credential = loadCredential({ kind: 'value', token: 'cop_TEST' }, createLogSink().logger)
  t.equal(credential.authorization(), 'Basic Y29wX1RFU1Q6')
  credential.close()
})

t.test('a token that cannot be a Basic username is refused at start-up', async (t) => {
  for (const token of ['cop:colon', 'cop space', 'cop_é']) {
    t.throws(() => loadCredential({ kind: 'value', token }, createLogSink().logger), ConfigError, token)
  }
})

async function tokenDirectory (t: Test): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'codeocean-proxy-token-'))
  t.teardown(() => rm(directory, { recursive: true, force: true }))
  return directory
}

t.test('a missing or empty token file refuses to start, naming the file but not the token', async (t) => {
  const directory = await tokenDirectory(t)
  const log = createLogSink().logger
  const missing = join(directory, 'missing')
  t.throws(() => loadCredential({ kind: 'file', path: missing, checkIntervalMs: 1000 }, log), new ConfigError(['the file named by CODEOCEAN_TOKEN_FILE cannot be read (ENOENT): check the path']))
  const empty = join(directory, 'empty')
  await writeFile(empty, '\n')
  t.throws(() => loadCredential({ kind: 'file', path: empty, checkIntervalMs: 1000 }, log), new ConfigError(['the file named by CODEOCEAN_TOKEN_FILE is empty']))
})

/** A token file holding `token`, and a credential watching it every `checkIntervalMs`, closed after the test. */
async function watchedTokenFile (t: Test, token: string, checkIntervalMs: number, level = 'info') {
  const directory = await tokenDirectory(t)
  const path = join(directory, 'token')
  await writeFile(path, token)
  const sink = createLogSink(level)
  const credential = loadCredential({ kind: 'file', path, checkIntervalMs }, sink.logger)
  t.teardown(() => credential.close())
  return { directory, path, sink, credential }
}

/** Polls until the credential says `expected` (bounded: the check runs every 20 ms). */
async function until (read: () => string, expected: string): Promise<boolean> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (read() === expected) return true
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return false
}

t.test('a rotated token file takes effect without a restart, and a broken one keeps the last token', async (t) => {
  const { directory, path, sink, credential } = await watchedTokenFile(t, 'cop_first\n', 20)
  t.equal(credential.authorization(), basicAuthorization('cop_first'))

  // Kubernetes swaps secrets by renaming a new file into place.
  await writeFile(join(directory, 'next'), 'cop_second_rotated')
  await rename(join(directory, 'next'), path)
  t.ok(await until(() => credential.authorization(), basicAuthorization('cop_second_rotated')), 'the new token is used')

  await rm(path)
  for (let wait = 0; wait < 100 && !sink.text().includes('cannot be read'); wait++) await new Promise((resolve) => setTimeout(resolve, 20))
  t.ok(sink.lines().some((line) => line.level === 40 && String(line.msg).includes('cannot be read; keeping the previous token')), 'a vanished file is warned about')
  t.equal(credential.authorization(), basicAuthorization('cop_second_rotated'), 'and the last good token is kept')

  await writeFile(path, 'cop_third')
  t.ok(await until(() => credential.authorization(), basicAuthorization('cop_third')), 'a file that comes back is used again')
  t.notMatch(sink.text(), /cop_first|cop_second|cop_third/, 'no token in the log')
})

t.test('a token file rewritten as empty keeps the last token and warns', async (t) => {
  const { path, sink, credential } = await watchedTokenFile(t, 'cop_kept', 20)
  await writeFile(path, '   \n\n')
  for (let attempt = 0; attempt < 100 && !sink.text().includes('is empty'); attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  t.match(sink.text(), /is empty; keeping the previous token/)
  t.equal(credential.authorization(), basicAuthorization('cop_kept'))
})

t.test('an unchanged token file keeps its token quietly, and a later change is still seen', async (t) => {
  const { path, sink, credential } = await watchedTokenFile(t, 'cop_steady', 10, 'debug')
  await new Promise((resolve) => setTimeout(resolve, 100))
  t.equal(credential.authorization(), basicAuthorization('cop_steady'))
  t.same(sink.lines(), [], 'nothing to report')
  await writeFile(path, 'cop_changed')
  t.ok(await until(() => credential.authorization(), basicAuthorization('cop_changed')), 'the watcher was running all along')
})

t.test('closing stops watching the file', async (t) => {
  const { path, credential } = await watchedTokenFile(t, 'cop_before', 10)
  const open = loadCredential({ kind: 'file', path, checkIntervalMs: 10 }, createLogSink().logger)
  t.teardown(() => open.close())
  credential.close()
  await writeFile(path, 'cop_after')
  t.ok(await until(() => open.authorization(), basicAuthorization('cop_after')), 'a credential still watching sees the change')
  t.equal(credential.authorization(), basicAuthorization('cop_before'), 'the closed one does not')
})

t.test('a refused token is refused with the reason, never with the token', async (t) => {
  const reasons = {
    'cop:colon': 'CODEOCEAN_TOKEN contains whitespace or a colon, which cannot be sent as a Basic username',
    'cop space': 'CODEOCEAN_TOKEN contains whitespace or a colon, which cannot be sent as a Basic username',
    cop_é: 'CODEOCEAN_TOKEN contains characters outside printable ASCII',
    '': 'CODEOCEAN_TOKEN is empty'
  }
  for (const [token, reason] of Object.entries(reasons)) {
    const error = t.throws(() => loadCredential({ kind: 'value', token }, createLogSink().logger)) as ConfigError
    t.same(error.problems, [reason], JSON.stringify(token))
  }
})

/** Waits (bounded: the check runs every 20 ms) for a log line whose message includes `text`. */
async function logLine (sink: ReturnType<typeof createLogSink>, text: string): Promise<Record<string, unknown> | undefined> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const line = sink.lines().find((candidate) => String(candidate.msg).includes(text))
    if (line !== undefined) return line
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return undefined
}

t.test('every log line about the token file names the file, and a read failure its errno', async (t) => {
  const { path, sink } = await watchedTokenFile(t, 'cop_first', 20)
  await writeFile(path, 'cop_second')
  t.match(await logLine(sink, 'changed'), { level: 30, tokenFile: path, msg: 'the Code Ocean token file changed; using the new token' })
  await writeFile(path, '\n')
  t.match(await logLine(sink, 'is empty'), { level: 40, tokenFile: path, msg: 'the Code Ocean token file is empty; keeping the previous token' })
  await rm(path)
  t.match(await logLine(sink, 'cannot be read'), { level: 40, tokenFile: path, errno: 'ENOENT' })
})
