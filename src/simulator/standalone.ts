// The simulator as a process of its own (`codeocean-proxy-simulator`): its settings from the
// environment, named as the proxy names the same things, so both can be handed one token file.
import { readFileSync } from 'node:fs'
import { ConfigError } from '../errors.js'
import type { SimulatorOptions } from './types.js'

/** Every variable the standalone simulator reads. */
export const SIMULATOR_VARIABLES = ['HOST', 'PORT', 'CODEOCEAN_TOKEN', 'CODEOCEAN_TOKEN_FILE', 'SIMULATOR_PUBLIC_URL'] as const
/** Beside the proxy's own 8080, so both run on one machine as they are. */
export const SIMULATOR_DEFAULT_PORT = 8081

type SimulatorVariable = typeof SIMULATOR_VARIABLES[number]

/** The options to start the simulator with, or a ConfigError naming every bad variable (never a token). */
export function standaloneSimulatorOptions (env: Readonly<Record<string, string | undefined>>): SimulatorOptions {
  const value = (name: SimulatorVariable): string | undefined => {
    const text = env[name]?.trim()
    return text === '' ? undefined : text
  }
  const problems: string[] = []
  const port = value('PORT') ?? String(SIMULATOR_DEFAULT_PORT)
  if (!/^\d{1,5}$/.test(port) || Number(port) > 65_535) problems.push(`PORT=${JSON.stringify(port)} is invalid: expected a TCP port, 0 to 65535`)
  const token = tokenOf(value('CODEOCEAN_TOKEN'), value('CODEOCEAN_TOKEN_FILE'), problems)
  if (problems.length > 0 || token === undefined) throw new ConfigError(problems)
  const publicUrl = value('SIMULATOR_PUBLIC_URL')
  return { token, host: value('HOST') ?? '127.0.0.1', port: Number(port), ...(publicUrl === undefined ? {} : { publicUrl }) }
}

function tokenOf (token: string | undefined, file: string | undefined, problems: string[]): string | undefined {
  if (token !== undefined && file !== undefined) {
    problems.push('CODEOCEAN_TOKEN and CODEOCEAN_TOKEN_FILE are both set: set only one')
    return undefined
  }
  if (token !== undefined) return token
  if (file === undefined) {
    problems.push('CODEOCEAN_TOKEN is required: set it to the token the simulator accepts, or set CODEOCEAN_TOKEN_FILE to a file holding it')
    return undefined
  }
  let text: string
  try {
    text = readFileSync(file, 'utf8').trim()
  } catch (error) {
    problems.push(`the file named by CODEOCEAN_TOKEN_FILE cannot be read (${String((error as NodeJS.ErrnoException).code)}): check the path`)
    return undefined
  }
  if (text === '') problems.push('the file named by CODEOCEAN_TOKEN_FILE is empty')
  return text
}
