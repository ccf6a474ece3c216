// The process: read the configuration, build the app, listen, and close cleanly on a signal.
import type { FastifyInstance } from 'fastify'
import { buildApp } from './app.js'
import { loadConfig, type Config } from './config.js'
import { ConfigError } from './errors.js'
import { createLogger } from './logger.js'

/** A configuration problem is reported one line per problem, and the process stops. */
function refuseToStart (error: unknown): never {
  if (!(error instanceof ConfigError)) throw error
  for (const problem of error.problems) process.stderr.write(`codeocean-proxy: ${problem}\n`)
  process.exit(1)
}

let config: Config
let app: FastifyInstance
const logger = createLogger({ level: 'info' })
try {
  config = loadConfig(process.env)
  logger.level = config.logLevel
  app = await buildApp({ config, logger })
} catch (error) {
  refuseToStart(error)
}

let closing = false
function close (signal: NodeJS.Signals): void {
  if (closing) {
    logger.warn({ signal }, 'second signal: exiting now')
    process.exit(1)
  }
  closing = true
  logger.info({ signal }, 'closing: finishing in-flight requests')
  app.close().then(() => process.exit(0), (error: unknown) => {
    logger.error({ err: error }, 'close failed')
    process.exit(1)
  })
}
process.on('SIGTERM', close)
process.on('SIGINT', close)

await app.listen({ host: config.host, port: config.port })
logger.info({ codeOcean: config.codeOcean.origin }, 'forwarding /api/v1 to Code Ocean')
