// Builds the Fastify application from a Config. Never reads process.env and never listens:
// the server, the demo, the OpenAPI writer and the tests all build it the same way.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { Dispatcher } from 'undici'
import auditRoutes from '../routes/audit.js'
import capsuleRoutes from '../routes/capsules.js'
import computationRoutes from '../routes/computations.js'
import healthRoutes from '../routes/health.js'
import metricsRoutes from '../routes/metrics.js'
import waitRoutes from '../routes/wait.js'
import { namedSchemas } from '../schemas/index.js'
import type { Config, GatewayConfig } from './config.js'
import { collectingProblems, readConfiguredFile } from './config-file.js'
import { ConfigError } from './errors.js'
import { auditLineLogger, createLogger } from './logger.js'
import auditPlugin from './plugins/audit.js'
import authorizationPlugin from './plugins/authorization.js'
import idempotencyPlugin from './plugins/idempotency.js'
import identityPlugin from './plugins/identity.js'
import errorHandlingPlugin, { frameworkErrorHandler } from './plugins/error-handling.js'
import openapiPlugin from './plugins/openapi.js'
import { parserRejectionHandler } from './plugins/parser-rejections.js'
import overloadPlugin from './plugins/overload.js'
import rateLimitsPlugin from './plugins/rate-limits.js'
import requestParsingPlugin from './plugins/request-parsing.js'
import requestIdPlugin, { requestIdOf } from './plugins/request-id.js'
import { requestLoggerOnFirstUse } from './request-logger.js'
import routeContractsPlugin from './plugins/route-contracts.js'
import routeHandlersPlugin from './plugins/route-handlers.js'
import shutdownPlugin from './plugins/shutdown.js'
import unauthenticatedLimitsPlugin from './plugins/unauthenticated-limits.js'
import upstreamPlugin from './plugins/upstream.js'
import { chainKeyFrom } from './audit/chain.js'
import { answerKeyFrom } from './idempotency/sealed-answers.js'
import { existingHmacKey, loadHmacKey } from './audit/hmac-key.js'
import { Readiness } from './health/readiness.js'
import { instrumentStore } from './metrics/instrumented-store.js'
import { ProxyMetrics } from './metrics/metrics.js'
import { Authenticator } from './identity/authenticate.js'
import { createGatewayJwtVerifier, type GatewayJwtVerifier } from './identity/gateway-jwt.js'
import { ServiceKeys } from './identity/service-keys.js'
import { TrustedHeaders } from './identity/trusted-headers.js'
import { DEFAULT_POLICY, Policy } from './policy/policy.js'
import { hmacWith } from './audit/sensitive.js'
import { startRetention } from './audit/retention.js'
import { AuditTrail } from './audit/trail.js'
import { ROUTER_OPTIONS } from './router-options.js'
import { openStore } from './store/open.js'
import { cachedOwnership } from './store/owner-cache.js'
import type { RevocationListener } from './store/postgres/key-revocations.js'
import { watchForeignWrites } from './store/sqlite-changes.js'
import { isSqliteStore, type ServiceKeyRealm, type SqliteStore, type Store } from './store/store.js'
import { ThrottledWarning } from './throttled-warning.js'
import type { Tracing } from './telemetry/tracing.js'
import { readCaFile } from './upstream/client.js'
import { loadCredential } from './upstream/credential.js'
import { formatValidationErrors } from './validation/error-messages.js'
import { VERSION } from './version.js'

export interface BuildAppOptions {
  config: Config
  /** A pino logger; by default one is made from config.logLevel, writing to stdout. */
  logger?: FastifyBaseLogger
  /** An undici dispatcher to reach Code Ocean through instead of the app's own pool (left open on close). */
  dispatcher?: Dispatcher
  /** A store to keep the audit trail in instead of opening the configured one (left open on close). */
  store?: Store
  /** Started tracing (see telemetry/tracing.ts): requests are traced and calls carry its trace context. */
  tracing?: Pick<Tracing, 'fastifyPlugin'>
  /**
   * The service keys callers may present: the proxy's (the default), or those `npm run demo`
   * makes. Only the demo passes 'demo', and no variable sets it, so no configured proxy takes a
   * demo's key, even from the database the demo wrote it to.
   */
  serviceKeyRealm?: ServiceKeyRealm
}

export const API_ROUTE_PREFIX = '/api/v1'
/** How long readiness waits for the store to answer its ping. */
const READINESS_STORE_TIMEOUT_MS = 2_000
/** How often, at most, connections are checked against the request and headers timeouts. */
const CONNECTIONS_CHECK_MS = 1_000

declare module 'fastify' {
  interface FastifyInstance {
    /** The app's Prometheus metrics (served at /metrics, or by the server on METRICS_PORT). */
    metrics: ProxyMetrics
  }
}

export async function buildApp (options: BuildAppOptions): Promise<FastifyInstance> {
  const { config } = options
  const logger = options.logger ?? createLogger({ level: config.logLevel })
  // Files named by the configuration are read before anything is opened that would need closing,
  // each of them even when another cannot be, so that one start names every problem.
  const problems: string[] = []
  const { caFile } = config.codeOcean
  const ca = collectingProblems(problems, () => caFile === undefined ? undefined : readCaFile(caFile))
  const credential = collectingProblems(problems, () => loadCredential(config.codeOcean.token, logger))
  const { gateway: gatewayConfig } = config.identity
  const gateway = collectingProblems(problems, () => gatewayConfig === undefined ? undefined : gatewayVerifierFor(gatewayConfig))
  // A key is generated (beside a SQLite database) only once everything else has checked out.
  const auditKey = collectingProblems(problems, () => problems.length === 0 ? loadHmacKey(config.audit, config.store) : existingHmacKey(config.audit, config.store))
  if (problems.length > 0 || credential === undefined || auditKey === undefined) {
    credential?.close()
    throw new ConfigError(problems)
  }
  const hmac = hmacWith(auditKey)
  const policy = new Policy(config.policy ?? DEFAULT_POLICY)
  const metrics = new ProxyMetrics()
  const ownStore = options.store === undefined
  const opened = options.store ?? await openStore(config.store)
  const store = instrumentStore(opened, metrics)
  // Owner rows never change once written: every call on a computation after the first is decided from memory.
  const owners = cachedOwnership(store)
  const serviceKeys = new ServiceKeys(store, { cacheMs: config.identity.serviceKeyCacheMs, ...(options.serviceKeyRealm === undefined ? {} : { realm: options.serviceKeyRealm }) })
  const authenticator = new Authenticator({
    ...(gateway === undefined ? {} : { gateway: { header: config.identity.gateway?.header as string, verifier: gateway } }),
    trusted: new TrustedHeaders(config.identity.trusted),
    serviceKeys,
    allowAnonymous: config.identity.allowAnonymous,
    ...(config.audit.adminKey === undefined ? {} : { adminKey: config.audit.adminKey })
  })
  // Keys fetched now spare the first caller the wait; a gateway still down is reported, not fatal.
  if (gateway !== undefined && !await gateway.warm()) {
    logger.warn('the gateway\'s JWKS could not be fetched at start-up: gateway callers get 503 until it can')
  }
  const auditLines = auditLineLogger(logger)
  const trail = new AuditTrail({ store, log: logger, maxQueued: config.audit.queueLimit, chainKey: chainKeyFrom(auditKey), checkpointLog: auditLines })
  const auditWriters = { log: auditLines, trail, hmac, observe: metrics.requestFinished.bind(metrics) }
  const app = Fastify({
    loggerInstance: logger,
    // One audit line per request replaces Fastify's two request log lines.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'requestId' }),
    requestIdHeader: false,
    genReqId: requestIdOf,
    // request.log is made when something logs through it, which few requests do.
    childLoggerFactory: requestLoggerOnFirstUse,
    bodyLimit: config.bodyLimitBytes,
    // Slow or idle callers cannot hold connections: Fastify's own defaults leave a request no deadline.
    requestTimeout: config.connections.requestTimeoutMs,
    connectionTimeout: config.connections.connectionTimeoutMs,
    keepAliveTimeout: config.connections.keepAliveTimeoutMs,
    http: {
      headersTimeout: config.connections.headersTimeoutMs,
      // Node checks the two timeouts above only this often (by default every 30 s).
      connectionsCheckingInterval: Math.min(CONNECTIONS_CHECK_MS, config.connections.headersTimeoutMs)
    },
    clientErrorHandler: parserRejectionHandler({
      writers: auditWriters,
      count: metrics.parserRejected.bind(metrics),
      headersTimeoutMs: config.connections.headersTimeoutMs,
      requestTimeoutMs: config.connections.requestTimeoutMs
    }),
    routerOptions: ROUTER_OPTIONS,
    ajv: {
      customOptions: {
        // Strict requests: no silent removal of unknown fields, no type coercion, no injected defaults.
        removeAdditional: false,
        coerceTypes: false,
        useDefaults: false,
        allErrors: false
      }
    },
    schemaErrorFormatter: formatValidationErrors,
    frameworkErrors: frameworkErrorHandler(auditWriters),
    // HEAD is not part of Code Ocean's API: never forward it.
    exposeHeadRoutes: false,
    // While draining, a request on a connection already open is served (and audited) like any
    // other, its answer closing the connection; Fastify's own 503 would skip both.
    return503OnClosing: false
  }).withTypeProvider<TypeBoxTypeProvider>()
  // Past the cap a new connection is closed as soon as it is accepted, and counted.
  app.server.maxConnections = config.connections.maxConnections
  app.server.on('drop', () => { metrics.connectionDropped() })

  for (const schema of namedSchemas) app.addSchema(schema)

  metrics.watchAuditQueue(() => trail.queued)
  app.decorate('metrics', metrics)
  const readiness = new Readiness({
    draining: () => app.draining,
    overloaded: () => app.isUnderPressure(),
    store,
    ...(gateway === undefined ? {} : { gateway }),
    circuit: () => app.upstream.breaker.state,
    auditQueue: () => ({ queued: trail.queued, limit: trail.queueLimit, failing: trail.failure !== undefined }),
    storeTimeoutMs: READINESS_STORE_TIMEOUT_MS
  })

  const retention = config.audit.retentionDays === undefined
    ? undefined
    : startRetention({ store, log: logger, days: config.audit.retentionDays })
  // Registered first, so it runs last: the trail is flushed after every request has finished.
  // Started once it is sure to be closed: with the app, after the trail is flushed.
  const revocations = await listenForRevocations(config, opened, logger, metrics, serviceKeys)
  app.addHook('onClose', async () => {
    retention?.stop()
    try {
      await trail.close()
    } finally {
      await revocations?.close()
      if (ownStore) await store.close()
    }
  })
  // First, so the request span is open before any other hook runs and sees every route.
  if (options.tracing !== undefined) await app.register(options.tracing.fastifyPlugin)
  // Before any route: a route declared without a contract (or an operational marking) stops the app.
  await app.register(routeContractsPlugin, { apiPrefix: API_ROUTE_PREFIX })
  await app.register(requestIdPlugin)
  // Before identity and the audit's own hook: shedding load must stay cheap under a flood.
  const carriesCredential = (request: FastifyRequest): boolean => authenticator.carriesCredential({ headers: request.headers, peer: request.socket.remoteAddress })
  const fromGateway = (request: FastifyRequest): boolean => authenticator.fromGateway({ headers: request.headers, peer: request.socket.remoteAddress })
  await app.register(overloadPlugin, { ...config.overload, audit: auditWriters, carriesCredential })
  // Before identity too: a source flooding without credentials, or with failing ones, costs no identity or audit work.
  await app.register(unauthenticatedLimitsPlugin, {
    perMinute: config.unauthenticatedPerMinute,
    carriesCredential,
    fromGateway
  })
  await app.register(identityPlugin, { authenticator, agentIdTemplate: config.agentIdTemplate })
  await app.register(auditPlugin, auditWriters)
  await app.register(authorizationPlugin, { policy, store: owners, auditAdminKey: config.audit.adminKey !== undefined })
  await app.register(idempotencyPlugin, {
    store,
    answerKey: answerKeyFrom(auditKey),
    ttlMs: config.idempotency.ttlMs,
    required: config.idempotency.required,
    staleAfterMs: config.idempotency.staleAfterMs
  })
  await app.register(rateLimitsPlugin, config.rateLimits)
  await app.register(errorHandlingPlugin, { bodyLimitBytes: config.bodyLimitBytes, apiPrefix: API_ROUTE_PREFIX })
  await app.register(shutdownPlugin)
  await app.register(requestParsingPlugin, { namedSchemas })
  await app.register(upstreamPlugin, {
    client: {
      target: { origin: config.codeOcean.origin, basePath: config.codeOcean.basePath },
      credential,
      connections: config.upstream.connections,
      limits: config.upstream.limits,
      breaker: config.upstream.breaker,
      connectTimeoutMs: config.upstream.connectTimeoutMs,
      headersTimeoutMs: config.upstream.headersTimeoutMs,
      bodyTimeoutMs: config.upstream.bodyTimeoutMs,
      retry: config.upstream.retry,
      ...(ca === undefined ? {} : { ca }),
      ...(options.dispatcher === undefined ? {} : { dispatcher: options.dispatcher })
    },
    polling: config.polling,
    // Traced calls carry their own span's trace context; untraced ones pass on the caller's.
    callerTraceContext: options.tracing === undefined
  })
  await app.register(routeHandlersPlugin, { policy, store: owners })
  await app.register(openapiPlugin, { version: VERSION, ...(config.identity.gateway === undefined ? {} : { gatewayHeader: config.identity.gateway.header }) })
  await app.register(computationRoutes, { prefix: API_ROUTE_PREFIX })
  await app.register(capsuleRoutes, { prefix: API_ROUTE_PREFIX })
  await app.register(waitRoutes)
  await app.register(healthRoutes, { readiness })
  if (config.metrics.port === undefined) await app.register(metricsRoutes, { metrics })
  await app.register(auditRoutes, { store })
  return app
}

/** The gateway's verifier; its public key file is read here, at start-up. */
function gatewayVerifierFor (gateway: GatewayConfig): GatewayJwtVerifier {
  const publicKeyPem = gateway.publicKeyFile === undefined ? undefined : readConfiguredFile('GATEWAY_PUBLIC_KEY_FILE', gateway.publicKeyFile)
  try {
    return createGatewayJwtVerifier({
      ...(gateway.jwksUrl === undefined ? {} : { jwksUrl: gateway.jwksUrl }),
      ...(publicKeyPem === undefined ? {} : { publicKeyPem }),
      issuer: gateway.issuer,
      audience: gateway.audience,
      algorithms: gateway.algorithms,
      claims: gateway.claims,
      fetchTimeoutMs: gateway.fetchTimeoutMs,
      ...(gateway.maxTokenAgeSeconds === undefined ? {} : { maxTokenAgeSeconds: gateway.maxTokenAgeSeconds }),
      refreshCooldownMs: 30_000,
      maxAgeMs: 10 * 60_000,
      clockToleranceSeconds: 30
    })
  } catch (error) {
    throw new ConfigError([`the gateway settings are unusable: ${(error as Error).message}`])
  }
}

/**
 * With PostgreSQL, a revocation made anywhere is heard at once instead of within
 * SERVICE_KEY_CACHE_MS (see store/postgres/key-revocations.ts; loaded only then). With SQLite, a
 * write to the file by another process (the keys command) is noticed within
 * FOREIGN_WRITES_POLL_MS (see store/sqlite-changes.ts). Read uninstrumented: the polls are not
 * the proxy's work.
 */
async function listenForRevocations (config: Config, opened: Store, logger: FastifyBaseLogger, metrics: ProxyMetrics, serviceKeys: ServiceKeys): Promise<Pick<RevocationListener, 'close'> | undefined> {
  if (config.identity.serviceKeyCacheMs === 0) return undefined
  if (isSqliteStore(opened)) return await watchSqliteFile(opened, logger, metrics, serviceKeys)
  if (config.store.kind !== 'postgres') return undefined
  const failing = new ThrottledWarning({
    log: logger,
    message: 'the connection listening for key revocations failed: revocations reach this instance within SERVICE_KEY_CACHE_MS until it is back',
    intervalMs: 60_000
  })
  const { listenForRevocations } = await import('./store/postgres/key-revocations.js')
  return listenForRevocations({
    connectionString: config.store.url,
    connectTimeoutMs: config.store.timeoutMs,
    onRevoked: (keyId) => {
      metrics.revocationHeard()
      serviceKeys.forget(keyId)
    },
    onError: (error) => { failing.occurred(error) }
  })
}

async function watchSqliteFile (store: SqliteStore, logger: FastifyBaseLogger, metrics: ProxyMetrics, serviceKeys: ServiceKeys): Promise<Pick<RevocationListener, 'close'>> {
  const failing = new ThrottledWarning({
    log: logger,
    message: 'reading whether another process wrote to the SQLite file failed: revocations made by the keys command reach this instance within SERVICE_KEY_CACHE_MS until it reads again',
    intervalMs: 60_000
  })
  const watch = watchForeignWrites(store, {
    onChange: () => {
      metrics.foreignWritesHeard()
      serviceKeys.forgetAll()
    },
    onError: (error) => { failing.occurred(error) }
  })
  await watch.started
  return { close: async () => { watch.close() } }
}
