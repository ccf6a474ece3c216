// What stops the proxy (or the demo) at start-up, worded for the operator in one line each: the
// configuration, a store that cannot be opened, an address that cannot be listened on. The
// address is tried before anything is made, so a port in use leaves no database and no key
// behind. Anything else is a bug, and keeps its stack.
import { createServer } from 'node:net'
import type { Config } from './config.js'
import { ConfigError } from './errors.js'
import { StoreError } from './store/store.js'

/** An address to listen on, and the variables that set it (named in the problem). */
export interface ListenAddress {
  host: string
  port: number
  hostVariable: string
  portVariable: string
}

/** Listens on the address and lets it go at once; throws ConfigError saying what to do when it cannot. */
export async function checkCanListen (address: ListenAddress): Promise<void> {
  // Port 0 takes whatever port is free.
  if (address.port === 0) return
  const probe = createServer()
  try {
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject)
      probe.listen({ host: address.host, port: address.port }, resolve)
    })
  } catch (error) {
    throw new ConfigError([listenProblem(error as NodeJS.ErrnoException, address)])
  }
  await new Promise((resolve) => probe.close(resolve))
}

/** A failure to listen on the address, as one line naming the variables to change. */
export function listenProblem (error: NodeJS.ErrnoException, address: ListenAddress): string {
  const { host, port, hostVariable, portVariable } = address
  switch (error.code) {
    case 'EADDRINUSE':
      return `${portVariable} ${port} is already in use on ${host}: stop what listens there, or set ${portVariable} to a free port`
    case 'EACCES':
      return `${portVariable} ${port} on ${host} needs privileges this process does not have: set ${portVariable} to a port above 1023`
    case 'EADDRNOTAVAIL':
      return `${hostVariable} ${host} is not an address of this machine: set ${hostVariable} to one of its addresses, or 0.0.0.0 for all of them`
    default:
      return `cannot listen on ${host} port ${port} (${String(error.code)}): check ${hostVariable} and ${portVariable}`
  }
}

/** The API's address, as the configuration gives it. */
export function apiAddress (config: Pick<Config, 'host' | 'port'>): ListenAddress {
  return { host: config.host, port: config.port, hostVariable: 'HOST', portVariable: 'PORT' }
}

/** The setting that says where the store is: what to check when it cannot be opened. */
export function storeSetting (store: Config['store']): string {
  return store.kind === 'postgres' ? 'DATABASE_URL' : 'AUDIT_DB_PATH'
}

/**
 * Why starting failed, one line per problem, or undefined for a failure that is not the
 * operator's to fix. `setting` names what says where the store is, for a store that cannot be opened.
 */
export function startUpProblems (error: unknown, setting: string): string[] | undefined {
  if (error instanceof ConfigError) return error.problems
  if (error instanceof StoreError) {
    // The message names the operation only: a URL, which may hold a password, is never echoed.
    const code = (error.cause as { code?: unknown } | undefined)?.code
    return [`${error.message}${typeof code === 'string' ? ` (${code})` : ''}: check ${setting}`]
  }
  return undefined
}
