// The proxy as a process of its own (src/server.ts, or a built program), for tests of what only a
// process does: refusing to start, signals, exit codes, ports of its own.
import { once } from 'node:events'
import { NO_LOAD_SHEDDING_ENV } from './app.js'
import { spawnChild, type Child } from './spawn-child.js'

export interface ServerProcess {
  child: Child
  exited: Promise<[number | null, NodeJS.Signals | null]>
  stdout: () => string
  stderr: () => string
}

/** Runs the TypeScript source; a test of the build passes the program it built instead. */
const FROM_SOURCE: readonly [string, ...string[]] = [process.execPath, '--import', 'tsx', 'src/server.ts']

export function startServer (env: Record<string, string>, killAfterMs = 20_000, [command, ...args] = FROM_SOURCE): ServerProcess {
  const child = spawnChild(command, args, { AUDIT_DB_PATH: ':memory:', ...NO_LOAD_SHEDDING_ENV, ...env })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>
  const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs)
  void exited.then(() => clearTimeout(timer))
  return { child, exited, stdout: () => stdout, stderr: () => stderr }
}

/** Waits (up to 10 s) for a line of the process's log to match `pattern`; returns the first group. */
export async function logged (server: ServerProcess, pattern: RegExp): Promise<string> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const found = pattern.exec(server.stdout())?.[1]
    if (found !== undefined) return found
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`the server did not log ${pattern.source}: ${server.stderr()}`)
}

/** The address the process listens on, once it does. */
export async function listeningAddress (server: ServerProcess): Promise<string> {
  return await logged(server, /Server listening at (http:\/\/127\.0\.0\.1:\d+)/)
}
