// Starts the proxy, its command-line tools or an npm script as a process of its own, so that a
// test file killed on its timeout leaves nothing running: the child (and any Node process it
// starts) loads exit-with-parent.mjs and exits when its parent goes away.
import { spawn, type ChildProcessByStdio } from 'node:child_process'
import { once } from 'node:events'
import type { Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'

const EXIT_WITH_PARENT = new URL('./exit-with-parent.mjs', import.meta.url).href
export const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url))

export type Child = ChildProcessByStdio<null, Readable, Readable>

/** `command args` in the project folder, with only `env` (and PATH) in its environment. */
export function spawnChild (command: string, args: string[], env: Record<string, string>): Child {
  return spawn(command, args, {
    cwd: PROJECT_ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      NODE_OPTIONS: `--import=${EXIT_WITH_PARENT}`,
      // Children run TypeScript through tsx, whose source maps differ from the test loader's:
      // keep their coverage out of the report (tap would merge the two and misplace lines).
      _TAPJS_PROCESSINFO_COV_EXCLUDE_: '/./',
      ...env
    },
    stdio: ['ignore', 'pipe', 'pipe']
  })
}

export interface Finished { code: number, stdout: string, stderr: string }

/** Runs a command to its end in a process of its own, as an operator would: its exit code (-1 when killed) and output. */
export async function runToEnd (command: string, args: string[], env: Record<string, string>, timeoutMs = 30_000): Promise<Finished> {
  const child = spawnChild(command, args, env)
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
  const [code] = await once(child, 'exit') as [number | null]
  clearTimeout(timer)
  return { code: code ?? -1, stdout, stderr }
}
