// Files the configuration names (a CA bundle, the policy, the gateway's key), read once at
// start-up: one that cannot be read stops the process with the variable and the reason named.
import { readFileSync } from 'node:fs'
import { ConfigError } from './errors.js'

export function readConfiguredFile (variable: string, path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (error) {
    throw new ConfigError([`${variable} ${path} cannot be read: ${String((error as NodeJS.ErrnoException).code)}`])
  }
}
