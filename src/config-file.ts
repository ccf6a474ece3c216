// Files the configuration names (a CA bundle, the policy, the gateway's key), read once at
// start-up: one that cannot be read stops the process with the variable and the reason named,
// and every file is checked before that, so one start names every problem.
import { readFileSync } from 'node:fs'
import { ConfigError } from './errors.js'

export function readConfiguredFile (variable: string, path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (error) {
    throw new ConfigError([`${variable} ${path} cannot be read: ${String((error as NodeJS.ErrnoException).code)}`])
  }
}

/**
 * What `read` returns, or undefined with the problems of the ConfigError it threw added to
 * `problems`. Any other failure is a bug, and propagates as one.
 */
export function collectingProblems<T> (problems: string[], read: () => T): T | undefined {
  try {
    return read()
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    problems.push(...error.problems)
    return undefined
  }
}
