// The process log's destination: lines are written out asynchronously and in batches, a
// descriptor that fails stops the log without stopping anything else, and draining before exit
// is bounded.
import { execFileSync } from 'node:child_process'
import { closeSync, openSync, read } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t, { type Test } from 'tap'
import { BATCH_BYTES, openStdoutLog } from '../src/stdout-log.js'

async function folder (t: Test): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'codeocean-proxy-log-'))
  t.teardown(() => rm(directory, { recursive: true, force: true }))
  return directory
}

t.test('lines reach the descriptor, and draining says when they all have', async (t) => {
  const path = join(await folder(t), 'log')
  const fd = openSync(path, 'w')
  t.teardown(() => closeSync(fd))
  const log = openStdoutLog(fd)
  t.equal(await log.drain(1), true, 'nothing written, nothing to wait for')
  for (let line = 0; line < 100; line++) log.destination.write(`{"line":${line}}\n`)
  t.equal(await log.drain(10_000), true)
  t.equal(await readFile(path, 'utf8'), Array.from({ length: 100 }, (_, line) => `{"line":${line}}\n`).join(''))
})

t.test('a descriptor that cannot be written stops the log; draining does not wait for it', async (t) => {
  const path = join(await folder(t), 'log')
  closeSync(openSync(path, 'w'))
  const fd = openSync(path, 'r')
  t.teardown(() => closeSync(fd))
  const log = openStdoutLog(fd)
  log.destination.write('lost\n')
  t.equal(await log.drain(60_000), false, 'the write failed (EBADF): drained at once, and said so')
  t.doesNotThrow(() => log.destination.write('dropped\n'), 'later lines are dropped, not thrown')
  t.equal(await log.drain(60_000), false)
})

t.test('a reader that does not read holds draining no longer than its bound', async (t) => {
  const fifo = join(await folder(t), 'fifo')
  execFileSync('mkfifo', [fifo])
  // Read and write ends in one: nothing reads until the test does, so the pipe fills and stays full.
  const fd = openSync(fifo, 'r+')
  t.teardown(() => closeSync(fd))
  const log = openStdoutLog(fd)
  const line = `${'x'.repeat(1_048_575)}\n`
  log.destination.write(line)
  t.equal(await log.drain(50), false, 'a full pipe: drain gave up at its bound')
  // Empties the pipe (off the event loop, where the log's own writes are answered).
  const buffer = Buffer.alloc(65_536)
  for (let received = 0; received < line.length;) received += (await promisify(read)(fd, buffer, 0, buffer.length, null)).bytesRead
  t.equal(await log.drain(60_000), true, 'once read, everything was written')
})

t.test('lines wait to be written together, until a batch is full or its time is up, or the log is drained', async (t) => {
  const path = join(await folder(t), 'log')
  const fd = openSync(path, 'w')
  t.teardown(() => closeSync(fd))
  // A batch's time that never comes within the test: only the other two hand lines over.
  const log = openStdoutLog(fd, 3_600_000)
  t.teardown(() => log.drain(1_000))
  log.destination.write('{"line":1}\n')
  await new Promise((resolve) => setTimeout(resolve, 100))
  t.equal(await readFile(path, 'utf8'), '', 'a line alone waits for others')
  t.equal(await log.drain(10_000), true)
  t.equal(await readFile(path, 'utf8'), '{"line":1}\n', 'draining writes it at once')

  const line = `{"fill":"${'x'.repeat(1_000)}"}\n`
  const lines = Math.ceil(BATCH_BYTES / line.length)
  for (let written = 0; written < lines; written++) log.destination.write(line)
  // Nothing drains the log here: the full batch went out by itself.
  for (let waited = 0; (await readFile(path, 'utf8')).length < 11 + lines * line.length && waited < 10_000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20))
  t.equal((await readFile(path, 'utf8')).length, 11 + lines * line.length, 'a full batch is written without waiting for its time')

  const timed = openStdoutLog(fd, 1)
  timed.destination.write('{"line":2}\n')
  for (let waited = 0; !(await readFile(path, 'utf8')).endsWith('{"line":2}\n') && waited < 10_000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20))
  t.ok((await readFile(path, 'utf8')).endsWith('{"line":2}\n'), 'and a batch whose time is up is written without draining')
})

t.test('a line logged while the log drains is written before draining says it is done', async (t) => {
  const path = join(await folder(t), 'log')
  const fd = openSync(path, 'w')
  t.teardown(() => closeSync(fd))
  const log = openStdoutLog(fd, 3_600_000)
  log.destination.write('{"line":1}\n')
  const drained = log.drain(10_000)
  // Closing code still logging: this line waits for its batch while the first one is written.
  log.destination.write('{"line":2}\n')
  t.equal(await drained, true)
  t.equal(await readFile(path, 'utf8'), '{"line":1}\n{"line":2}\n')
})
