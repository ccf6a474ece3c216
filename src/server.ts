#!/usr/bin/env node
// The process: read the configuration, build the app, listen (and serve metrics on their own port
// when asked), and drain cleanly on a signal.
import type { FastifyInstance } from 'fastify'
import { buildApp } from './app.js'
import { AuditRecordsLostError } from './audit/trail.js'
import { loadConfig, type Config } from './config.js'
import { ConfigError } from './errors.js'
import { createLogger } from './logger.js'
import { startMetricsServer, type MetricsServer } from './metrics/metrics-server.js'
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

/** After the deadline has cut the last connections, how long closing (audit flush, store) may still take. */
const FORCED_EXIT_AFTER_MS = 5_000

let metricsServer: MetricsServer | undefined
let closing = false
/**
 * Drains on the first signal: no new connections, readiness red, in-flight requests finish (their
 * answers closing their connections), then the audit trail is flushed and the pool and the store
 * closed. Past SHUTDOWN_TIMEOUT_MS the remaining connections are cut and the exit code is 1.
 */
function close (signal: NodeJS.Signals): void {
  if (closing) {
    logger.warn({ signal }, 'second signal: exiting now')
    process.exit(1)
  }
  closing = true
  logger.info({ signal, deadlineMs: config.shutdownTimeoutMs }, 'draining: refusing new connections, finishing in-flight requests')
  let forced = false
  const deadline = setTimeout(() => {
    forced = true
    logger.error({ deadlineMs: config.shutdownTimeoutMs }, 'requests still in flight at the shutdown deadline: closing their connections')
    app.server.closeAllConnections()
    setTimeout(() => {
      logger.error('closing did not finish after the deadline: exiting')
      process.exit(1)
    }, FORCED_EXIT_AFTER_MS).unref()
  }, config.shutdownTimeoutMs)
  deadline.unref()
  app.close().then(async () => {
    clearTimeout(deadline)
    await metricsServer?.close()
    // Spans are sent last, so those of the requests finished during close go too.
    await tracing?.shutdown()
    logger.info({ forced }, 'closed: audit trail flushed, store and connections closed')
    process.exit(forced ? 1 : 0)
  }, (error: unknown) => {
    // The trail has logged how many records it lost; say plainly that this shutdown was not clean.
    logger.error({ err: error }, error instanceof AuditRecordsLostError ? 'closed with audit records lost' : 'close failed')
    process.exit(1)
  })
}
process.on('SIGTERM', close)
process.on('SIGINT', close)

await app.listen({ host: config.host, port: config.port })
logger.info({ codeOcean: config.codeOcean.origin }, 'forwarding /api/v1 to Code Ocean')
if (config.metrics.port !== undefined) {
  metricsServer = await startMetricsServer(app.metrics, config.metrics.host, config.metrics.port)
  logger.info({ metrics: `${metricsServer.url}/metrics` }, 'serving metrics on their own port')
}
