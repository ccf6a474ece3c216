// Runs src/server.ts as its own process, as it runs in production, with its output captured.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'

export interface ServerProcess {
  child: ChildProcess
  exited: Promise<[number | null, NodeJS.Signals | null]>
  stdout (): string
  stderr (): string
}

/** Starts the server with only `env` (and PATH) set; killed after 20 s if it has not exited. */
export function startServer (env: Record<string, string>): ServerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    // The child runs TypeScript through tsx, whose source maps differ from the test loader's:
    // keep its coverage out of the report (tap would merge the two and misplace lines).
    env: { PATH: process.env.PATH ?? '', _TAPJS_PROCESSINFO_COV_EXCLUDE_: '/./', AUDIT_DB_PATH: ':memory:', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
  void exited.then(() => clearTimeout(timer))
  return { child, exited, stdout: () => stdout, stderr: () => stderr }
}

/** The address the server says it listens at, once it does. */
export async function addressOf (server: ServerProcess): Promise<string> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const address = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(server.stdout())?.[1]
    if (address !== undefined) return address
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`the server did not start: ${server.stderr()}`)
}
