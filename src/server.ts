#!/usr/bin/env node
// The process: read the configuration, build the app, listen (and serve metrics on their own port
// when asked), and drain cleanly on a signal.
import type { FastifyInstance } from 'fastify'
import { buildApp } from './app.js'
import { AuditRecordsLostError } from './audit/trail.js'
import { loadConfig, type Config } from './config.js'
import { createLogger } from './logger.js'
import { startMetricsServer, type MetricsServer } from './metrics/metrics-server.js'
import { apiAddress, checkCanListen, listenProblem, startUpProblems, storeSetting, type ListenAddress } from './start-up-problems.js'
import { returnStartUpMemory } from './start-up-memory.js'
import { openStdoutLog } from './stdout-log.js'
import { strayVariableWarnings } from './stray-variables.js'
import type { Tracing } from './telemetry/tracing.js'

/** How long the last log lines get to reach stdout before the process exits: a reader that has gone, or stalled, never holds the exit. */
const LOG_DRAIN_MS = 1_000

const log = openStdoutLog()
const logger = createLogger({ level: 'info', destination: log.destination })

async function exit (code: number): Promise<never> {
  await log.drain(LOG_DRAIN_MS)
  process.exit(code)
}

/** Said with the problems when the configuration is refused; logged, and said no more, once it is taken. */
const warnings = strayVariableWarnings(process.env)

/** What stops the start is reported one line per problem, with the warnings that may explain it, and the process exits 1. */
async function refuseToStart (error: unknown, store?: Config['store']): Promise<never> {
  const problems = startUpProblems(error, store === undefined ? 'DATABASE_URL or AUDIT_DB_PATH' : storeSetting(store))
  if (problems === undefined) throw error
  for (const warning of warnings) process.stderr.write(`codeocean-proxy: warning: ${warning}\n`)
  for (const problem of problems) process.stderr.write(`codeocean-proxy: ${problem}\n`)
  return await exit(1)
}

const metricsAddress = (settings: Config): ListenAddress | undefined => settings.metrics.port === undefined
  ? undefined
  : { host: settings.metrics.host, port: settings.metrics.port, hostVariable: 'METRICS_HOST', portVariable: 'METRICS_PORT' }

/** The configuration, once it and the addresses it names check out. */
async function configured (): Promise<Config> {
  try {
    const settings = loadConfig(process.env)
    // Tried before anything is made: a port in use leaves no database behind.
    await checkCanListen(apiAddress(settings))
    const metrics = metricsAddress(settings)
    if (metrics !== undefined) await checkCanListen(metrics)
    return settings
  } catch (error) {
    return await refuseToStart(error)
  }
}

const config = await configured()
logger.level = config.logLevel
for (const warning of warnings.splice(0)) logger.warn(warning)
let tracing: Tracing | undefined
const app: FastifyInstance = await (async () => {
  try {
    if (config.tracing !== undefined) {
      // Loaded only when configured: without an endpoint no OpenTelemetry SDK is even imported.
      const { startTracing } = await import('./telemetry/tracing.js')
      tracing = startTracing(config.tracing, logger)
      logger.info({ tracesUrl: new URL(config.tracing.tracesUrl).origin }, 'tracing: sending spans over OTLP')
    }
    const built = await buildApp({ config, logger, ...(tracing === undefined ? {} : { tracing }) })
    // Ready before listening: every plugin loaded and every schema compiled, so what start-up
    // used can be returned while nobody waits for an answer.
    await built.ready()
    returnStartUpMemory()
    return built
  } catch (error) {
    return await refuseToStart(error, config.store)
  }
})()

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
    void exit(1)
    return
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
      void exit(1)
    }, FORCED_EXIT_AFTER_MS).unref()
  }, config.shutdownTimeoutMs)
  deadline.unref()
  app.close().then(async () => {
    clearTimeout(deadline)
    await metricsServer?.close()
    // Spans are sent last, so those of the requests finished during close go too.
    await tracing?.shutdown()
    logger.info({ forced }, 'closed: audit trail flushed, store and connections closed')
    await exit(forced ? 1 : 0)
  }, async (error: unknown) => {
    // The trail has logged how many records it lost; say plainly that this shutdown was not clean.
    logger.error({ err: error }, error instanceof AuditRecordsLostError ? 'closed with audit records lost' : 'close failed')
    await exit(1)
  })
}
process.on('SIGTERM', close)
process.on('SIGINT', close)

/** Listening failed although the address was free a moment before (taken since): closes what was opened, then says so. */
async function cannotListen (error: unknown, address: ListenAddress): Promise<never> {
  await app.close().catch(() => {})
  process.stderr.write(`codeocean-proxy: ${listenProblem(error as NodeJS.ErrnoException, address)}\n`)
  return await exit(1)
}

await app.listen({ host: config.host, port: config.port }).catch(async (error: unknown) => await cannotListen(error, apiAddress(config)))
logger.info({ codeOcean: config.codeOcean.origin }, 'forwarding /api/v1 to Code Ocean')
const metrics = metricsAddress(config)
if (metrics !== undefined) {
  metricsServer = await startMetricsServer(app.metrics, metrics.host, metrics.port).catch(async (error: unknown) => await cannotListen(error, metrics))
  logger.info({ metrics: `${metricsServer.url}/metrics` }, 'serving metrics on their own port')
}
