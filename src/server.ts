// The process: read the configuration, build the app, listen, and close cleanly on a signal.
import type { FastifyInstance } from 'fastify'
import { buildApp } from './app.js'
import { loadConfig, type Config } from './config.js'
import { ConfigError } from './errors.js'
import { createLogger } from './logger.js'
import type { Tracing } from './telemetry/tracing.js'

/** A configuration problem is reported one line per problem, and the process stops. */
function refuseToStart (error: unknown): never {
  if (!(error instanceof ConfigError)) throw error
  for (const problem of error.problems) process.stderr.write(`codeocean-proxy: ${problem}\n`)
  process.exit(1)
}

let config: Config
let app: FastifyInstance
let tracing: Tracing | undefined
const logger = createLogger({ level: 'info' })
try {
  config = loadConfig(process.env)
  logger.level = config.logLevel
  if (config.tracing !== undefined) {
    // Loaded only when configured: without an endpoint no OpenTelemetry SDK is even imported.
    const { startTracing } = await import('./telemetry/tracing.js')
    tracing = startTracing(config.tracing, logger)
    logger.info({ tracesUrl: new URL(config.tracing.tracesUrl).origin }, 'tracing: sending spans over OTLP')
  }
  app = await buildApp({ config, logger, ...(tracing === undefined ? {} : { tracing }) })
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
  // Spans are sent last, so those of the requests finished during close go too.
  app.close().then(async () => { await tracing?.shutdown() }).then(() => process.exit(0), (error: unknown) => {
    logger.error({ err: error }, 'close failed')
    process.exit(1)
  })
}
process.on('SIGTERM', close)
process.on('SIGINT', close)

await app.listen({ host: config.host, port: config.port })
logger.info({ codeOcean: config.codeOcean.origin }, 'forwarding /api/v1 to Code Ocean')
