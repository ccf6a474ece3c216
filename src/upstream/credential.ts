// The proxy's Code Ocean credential: HTTP Basic with the token as username and an empty
// password. A token file is watched so a rotated secret takes effect without a restart.
import { readFileSync, statSync } from 'node:fs'
import { readFile, stat } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyBaseLogger } from 'fastify'
import type { TokenSource } from '../config.js'
import { ConfigError } from '../errors.js'

export interface Credential {
  /** The `Authorization` header value to send to Code Ocean. */
  authorization (): string
  /** Stops watching the token file. */
  close (): void
}

/** Why a token is unusable, or undefined when it is fine. Never includes the token itself. */
function tokenProblem (token: string): string | undefined {
  if (token === '') return 'is empty'
  if (/[\s:]/.test(token)) return 'contains whitespace or a colon, which cannot be sent as a Basic username'
  if (/[^\x21-\x7e]/.test(token)) return 'contains characters outside printable ASCII'
  return undefined
}

export function basicAuthorization (token: string): string {
  return `Basic ${Buffer.from(`${token}:`).toString('base64')}`
}

/**
 * Loads the credential at start-up (throws ConfigError when it is missing or unusable) and,
 * for a file, re-reads it whenever its identity, size or modification time changes. A file that
 * turns unreadable or empty later keeps the last good token and logs a warning.
 */
export function loadCredential (source: TokenSource, log: FastifyBaseLogger): Credential {
  if (source.kind === 'value') {
    const problem = tokenProblem(source.token)
    if (problem !== undefined) throw new ConfigError([`CODEOCEAN_TOKEN ${problem}`])
    const header = basicAuthorization(source.token)
    return { authorization: () => header, close: () => {} }
  }

  const { path, checkIntervalMs } = source
  let header: string
  let fingerprint: string
  try {
    fingerprint = fingerprintOf(statSync(path))
    const token = readFileSync(path, 'utf8').trim()
    const problem = tokenProblem(token)
    if (problem !== undefined) throw new ConfigError([`the file named by CODEOCEAN_TOKEN_FILE ${problem}`])
    header = basicAuthorization(token)
  } catch (error) {
    if (error instanceof ConfigError) throw error
    // The path is not echoed: a token pasted into the variable by mistake must not reach the logs.
    throw new ConfigError([`the file named by CODEOCEAN_TOKEN_FILE cannot be read (${String((error as NodeJS.ErrnoException).code)}): check the path`])
  }

  const check = async (): Promise<void> => {
    try {
      const current = fingerprintOf(await stat(path))
      if (current === fingerprint) return
      const token = (await readFile(path, 'utf8')).trim()
      const problem = tokenProblem(token)
      if (problem !== undefined) {
        log.warn({ tokenFile: path }, `the Code Ocean token file ${problem}; keeping the previous token`)
        return
      }
      header = basicAuthorization(token)
      fingerprint = current
      log.info({ tokenFile: path }, 'the Code Ocean token file changed; using the new token')
    } catch (error) {
      log.warn({ tokenFile: path, errno: (error as NodeJS.ErrnoException).code }, 'the Code Ocean token file cannot be read; keeping the previous token')
    }
  }
  // One check at a time: the loop awaits each before taking the next tick, so a slow file
  // system never stacks them. Closing aborts the loop (the rejection is the expected AbortError).
  const stop = new AbortController()
  const watch = async (): Promise<never> => {
    while (true) {
      await sleep(checkIntervalMs, undefined, { signal: stop.signal, ref: false })
      await check()
    }
  }
  watch().catch(() => {})
  return { authorization: () => header, close: () => stop.abort() }
}

function fingerprintOf (stats: { ino: number, size: number, mtimeMs: number }): string {
  return `${stats.ino}:${stats.size}:${stats.mtimeMs}`
}
