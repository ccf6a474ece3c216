// The benchmark's child processes: each started with its output in a log file and awaited with a
// deadline, stopped politely then firmly, and all killed however the benchmark ends.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { closeSync, openSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

export interface Child {
  process: ChildProcess
  pid: number
  /** The file its stdout and stderr go to (the proxy's audit lines among them). */
  log: string
  match: RegExpExecArray
}

const running = new Set<ChildProcess>()
const cleanups: Array<() => Promise<void>> = []

/** Something to undo at the end (a schema to drop, a directory to remove), last registered first. */
export function onCleanup (cleanup: () => Promise<void>): void {
  cleanups.unshift(cleanup)
}

/** Stops every child and runs the cleanups, each bounded in time; safe to call more than once. */
export async function cleanUp (): Promise<void> {
  await Promise.all([...running].map(async (child) => { await stopChild(child) }))
  for (const cleanup of cleanups.splice(0)) {
    await Promise.race([cleanup().catch((error: unknown) => { process.stderr.write(`cleanup failed: ${String(error)}\n`) }), sleep(10_000)])
  }
}

process.on('exit', () => { for (const child of running) child.kill('SIGKILL') })
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`\n${signal}: stopping the benchmark's processes\n`)
    void cleanUp().finally(() => process.exit(130))
  })
}

export interface StartOptions {
  env: Record<string, string>
  log: string
  /** Matched against the log; the first capture group is usually the URL it listens at. */
  ready: RegExp
  ipc?: boolean
  timeoutMs?: number
}

export async function startChild (command: string, args: string[], options: StartOptions): Promise<Child> {
  const fd = openSync(options.log, 'a')
  const child = spawn(command, args, {
    env: { PATH: process.env.PATH ?? '', ...options.env },
    stdio: ['ignore', fd, fd, ...(options.ipc === true ? ['ipc' as const] : [])]
  })
  closeSync(fd)
  running.add(child)
  child.once('exit', () => running.delete(child))
  const deadline = Date.now() + (options.timeoutMs ?? 20_000)
  while (Date.now() < deadline) {
    const output = await readFile(options.log, 'utf8')
    const match = options.ready.exec(output)
    if (match !== null && child.pid !== undefined) return { process: child, pid: child.pid, log: options.log, match }
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${command} ${args.join(' ')} exited before it was ready:\n${output.slice(-2000)}`)
    await sleep(50)
  }
  await stopChild(child)
  throw new Error(`${command} ${args.join(' ')} was not ready within ${options.timeoutMs ?? 20_000} ms (see ${options.log})`)
}

/** SIGTERM (or `signal`), then SIGKILL if it has not exited within `timeoutMs`. */
export async function stopChild (child: ChildProcess, timeoutMs = 10_000, signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null, signal: NodeJS.Signals | null }> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = once(child, 'exit')
    child.kill(signal)
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    await exited
    clearTimeout(timer)
  }
  return { code: child.exitCode, signal: child.signalCode }
}

/** Asks a child over IPC and waits for its one answer, at most `timeoutMs`. */
export async function ask<T> (child: ChildProcess, message: unknown, timeoutMs = 5_000): Promise<T> {
  const answer = once(child, 'message', { signal: AbortSignal.timeout(timeoutMs) }) as Promise<[T]>
  child.send(message as string)
  return (await answer)[0]
}

/** A loopback port free right now (for programs that cannot report the one they were given). */
export async function freePort (): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  server.close()
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}

/** Resolves once `url` answers anything over HTTP. */
export async function waitForHttp (url: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    try {
      await (await fetch(url, { signal: AbortSignal.timeout(1_000) })).arrayBuffer()
      return
    } catch {
      await sleep(50)
    }
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms`)
}
