// The process's configuration: one TypeBox schema over the environment, turned into a typed
// Config, with one message per bad variable so an operator can fix them all in one go.
import { Type, type Static, type TInteger, type TLiteral, type TSchema, type TString, type TUnion } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { ConfigError } from './errors.js'
import { addressList } from './net/address-list.js'
import { loadPolicyFile, type PolicyDocument } from './policy/policy-file.js'

const LogLevel = Type.Union(
  ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((level) => Type.Literal(level)),
  { description: 'one of fatal, error, warn, info, debug, trace, silent' }
)

const Milliseconds = (fallback: number): TInteger =>
  Type.Integer({ minimum: 1, maximum: 3_600_000, default: fallback, description: 'a whole number of milliseconds, 1 to 3600000' })

const HEADER_NAME = '^[A-Za-z0-9-]{1,100}$'
const HeaderName = (fallback: string): TString =>
  Type.String({ default: fallback, pattern: HEADER_NAME, description: 'a header name' })

/** A switch written out as `true` or `false`, nothing looser. */
const Flag = (fallback: 'true' | 'false'): TUnion<[TLiteral<'true'>, TLiteral<'false'>]> =>
  Type.Union([Type.Literal('true'), Type.Literal('false')], { default: fallback, description: 'true or false' })

/** OpenTelemetry's standard sampler names (the `…traceidratio` ones take OTEL_TRACES_SAMPLER_ARG). */
export const TRACES_SAMPLERS = ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'] as const
export type TracesSampler = typeof TRACES_SAMPLERS[number]

export const Environment = Type.Object({
  CODEOCEAN_DOMAIN: Type.String({ description: 'the Code Ocean origin, e.g. https://codeocean.example.com' }),
  CODEOCEAN_TOKEN: Type.Optional(Type.String({ maxLength: 4096, description: 'the Code Ocean access token, at most 4096 characters' })),
  CODEOCEAN_TOKEN_FILE: Type.Optional(Type.String({ description: 'a file holding the Code Ocean access token' })),
  CODEOCEAN_TOKEN_FILE_CHECK_MS: Milliseconds(5_000),
  CODEOCEAN_CA_FILE: Type.Optional(Type.String({ description: 'a PEM file of CA certificates to trust for Code Ocean' })),
  HOST: Type.String({ default: '127.0.0.1', minLength: 1, description: 'an address to listen on' }),
  PORT: Type.Integer({ default: 8080, minimum: 0, maximum: 65535, description: 'a TCP port, 0 to 65535' }),
  LOG_LEVEL: { ...LogLevel, default: 'info' },
  BODY_LIMIT_BYTES: Type.Integer({ default: 1_048_576, minimum: 1024, maximum: 67_108_864, description: 'a byte count, 1024 to 67108864' }),
  REQUEST_TIMEOUT_MS: Milliseconds(30_000),
  HEADERS_TIMEOUT_MS: Milliseconds(10_000),
  KEEP_ALIVE_TIMEOUT_MS: Milliseconds(72_000),
  CONNECTION_TIMEOUT_MS: Type.Integer({ default: 0, minimum: 0, maximum: 3_600_000, description: 'a whole number of milliseconds, 0 (off) to 3600000' }),
  MAX_CONNECTIONS: Type.Integer({ default: 1_024, minimum: 1, maximum: 1_000_000, description: 'a connection count, 1 to 1000000' }),
  UPSTREAM_CONNECT_TIMEOUT_MS: Milliseconds(5_000),
  UPSTREAM_HEADERS_TIMEOUT_MS: Milliseconds(30_000),
  UPSTREAM_BODY_TIMEOUT_MS: Milliseconds(30_000),
  UPSTREAM_CONNECTIONS: Type.Integer({ default: 64, minimum: 1, maximum: 4096, description: 'a connection count, 1 to 4096' }),
  DATABASE_URL: Type.Optional(Type.String({ pattern: '^postgres(ql)?://', description: 'a PostgreSQL URL, postgres://user@host:5432/database' })),
  STORE_TIMEOUT_MS: Type.Integer({ default: 5_000, minimum: 100, maximum: 60_000, description: 'a whole number of milliseconds, 100 to 60000' }),
  AUDIT_DB_PATH: Type.String({ default: './data/codeocean-proxy.sqlite', description: 'a path for the SQLite audit database' }),
  AUDIT_HMAC_KEY: Type.Optional(Type.String({ description: 'the key audit HMACs are made with, at least 16 bytes' })),
  AUDIT_HMAC_KEY_FILE: Type.Optional(Type.String({ description: 'a file holding the key audit HMACs are made with' })),
  AUDIT_ADMIN_KEY: Type.Optional(Type.String({ minLength: 16, description: 'a key of at least 16 characters for GET /audit/events' })),
  AUDIT_RETENTION_DAYS: Type.Optional(Type.Integer({ minimum: 1, maximum: 36_500, description: 'a number of days, 1 to 36500' })),
  AUDIT_QUEUE_LIMIT: Type.Integer({ default: 10_000, minimum: 1, maximum: 1_000_000, description: 'a record count, 1 to 1000000' }),
  GATEWAY_JWT_HEADER: Type.Optional(Type.String({ pattern: HEADER_NAME, description: 'a header name, e.g. X-Pomerium-Jwt-Assertion, or Authorization for a Bearer ID token' })),
  GATEWAY_JWKS_URL: Type.Optional(Type.String({ pattern: '^https?://', description: 'an http(s) URL of the gateway\'s JWKS' })),
  GATEWAY_PUBLIC_KEY_FILE: Type.Optional(Type.String({ description: 'a PEM file holding the gateway\'s public key' })),
  GATEWAY_JWT_ISSUER: Type.Optional(Type.String({ minLength: 1, description: 'the issuer (iss) the gateway signs with' })),
  GATEWAY_JWT_AUDIENCE: Type.Optional(Type.String({ minLength: 1, description: 'the audience (aud) values accepted, comma-separated' })),
  GATEWAY_JWT_ALGORITHMS: Type.String({ default: 'RS256,ES256', pattern: '^((RS|PS|ES)(256|384|512)|EdDSA)(,((RS|PS|ES)(256|384|512)|EdDSA))*$', description: 'comma-separated asymmetric JWS algorithms, e.g. RS256,ES256' }),
  GATEWAY_SUBJECT_CLAIM: Type.String({ default: 'sub', minLength: 1, description: 'a claim name' }),
  GATEWAY_EMAIL_CLAIM: Type.String({ default: 'email', minLength: 1, description: 'a claim name' }),
  GATEWAY_GROUPS_CLAIM: Type.String({ default: 'groups', minLength: 1, description: 'a claim name' }),
  GATEWAY_JWKS_TIMEOUT_MS: Milliseconds(3_000),
  GATEWAY_MAX_TOKEN_AGE_SECONDS: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400, description: 'a whole number of seconds, 1 to 86400' })),
  TRUSTED_PROXIES: Type.Optional(Type.String({ description: 'comma-separated addresses or CIDR ranges of the gateway, e.g. 10.0.0.0/8,::1' })),
  TRUSTED_USER_HEADER: HeaderName('X-Forwarded-User'),
  TRUSTED_EMAIL_HEADER: HeaderName('X-Forwarded-Email'),
  TRUSTED_GROUPS_HEADER: HeaderName('X-Forwarded-Groups'),
  ALLOW_ANONYMOUS: Flag('false'),
  SERVICE_KEY_CACHE_MS: Type.Integer({ default: 1_000, minimum: 0, maximum: 1_000, description: 'a whole number of milliseconds, 0 (read the key on every call) to 1000' }),
  POLICY_FILE: Type.Optional(Type.String({ description: 'a JSON or YAML policy file' })),
  AGENT_ID_TEMPLATE: Type.String({ default: 'codeocean-proxy/{user}', minLength: 1, maxLength: 200, description: 'a template using {user}, {subject} or {email}' }),
  IDEMPOTENCY_TTL_HOURS: Type.Integer({ default: 24, minimum: 1, maximum: 720, description: 'a number of hours, 1 to 720' }),
  IDEMPOTENCY_REQUIRED: Flag('false'),
  UPSTREAM_RETRY_ATTEMPTS: Type.Integer({ default: 3, minimum: 1, maximum: 10, description: 'a number of attempts, 1 to 10' }),
  UPSTREAM_RETRY_BASE_MS: Milliseconds(200),
  UPSTREAM_RETRY_BUDGET_MS: Milliseconds(10_000),
  UPSTREAM_MAX_CONCURRENT: Type.Integer({ default: 64, minimum: 1, maximum: 4096, description: 'a call count, 1 to 4096' }),
  UPSTREAM_MAX_PER_SECOND: Type.Integer({ default: 100, minimum: 1, maximum: 100_000, description: 'calls per second, 1 to 100000' }),
  UPSTREAM_QUEUE_LIMIT: Type.Integer({ default: 256, minimum: 0, maximum: 100_000, description: 'a call count, 0 to 100000' }),
  UPSTREAM_QUEUE_TIMEOUT_MS: Milliseconds(5_000),
  BREAKER_FAILURES: Type.Integer({ default: 5, minimum: 1, maximum: 1000, description: 'a failure count, 1 to 1000' }),
  BREAKER_COOLDOWN_MS: Milliseconds(10_000),
  BREAKER_MIN_PATHS: Type.Integer({ default: 3, minimum: 1, maximum: 1000, description: 'a count of different calls, 1 to 1000' }),
  UNAUTHENTICATED_PER_MINUTE: Type.Integer({ default: 120, minimum: 0, maximum: 1_000_000, description: 'a request count, 0 (no limit) to 1000000' }),
  UPSTREAM_MAX_PER_CALLER: Type.Integer({ default: 16, minimum: 1, maximum: 4096, description: 'a call count, 1 to 4096' }),
  POLL_COALESCE: Flag('true'),
  POLL_CACHE_MS: Type.Integer({ default: 1_000, minimum: 0, maximum: 60_000, description: 'a whole number of milliseconds, 0 to 60000' }),
  WAIT_POLL_INTERVAL_MS: Type.Integer({ default: 5_000, minimum: 100, maximum: 600_000, description: 'a whole number of milliseconds, 100 to 600000' }),
  WAIT_MAX_SECONDS: Type.Integer({ default: 600, minimum: 1, maximum: 3600, description: 'a number of seconds, 1 to 3600' }),
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://', description: 'a Redis URL, redis://host:6379' })),
  RATE_LIMIT_KEY_PREFIX: Type.String({ default: 'codeocean-proxy:rate:', minLength: 1, maxLength: 100, description: 'a Redis key prefix' }),
  RATE_LIMIT_RUNS_PER_MINUTE: Type.Integer({ default: 30, minimum: 1, maximum: 1_000_000, description: 'a call count, 1 to 1000000' }),
  RATE_LIMIT_CALLS_PER_MINUTE: Type.Integer({ default: 1_200, minimum: 1, maximum: 1_000_000, description: 'a call count, 1 to 1000000' }),
  METRICS_PORT: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535, description: 'a TCP port, 0 to 65535' })),
  METRICS_HOST: Type.Optional(Type.String({ minLength: 1, description: 'an address to serve /metrics on' })),
  SHUTDOWN_TIMEOUT_MS: Milliseconds(25_000),
  OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: Type.Integer({ default: 1_000, minimum: 0, maximum: 60_000, description: 'a whole number of milliseconds, 0 (off) to 60000' }),
  OVERLOAD_MAX_EVENT_LOOP_UTILIZATION: Type.Number({ default: 0.98, minimum: 0, maximum: 1, description: 'a fraction, 0 (off) to 1' }),
  OVERLOAD_MAX_HEAP_USED_BYTES: Type.Integer({ default: 0, minimum: 0, description: 'a byte count, 0 for no limit' }),
  OVERLOAD_MAX_RSS_BYTES: Type.Integer({ default: 0, minimum: 0, description: 'a byte count, 0 for no limit' }),
  OVERLOAD_RETRY_AFTER_SECONDS: Type.Integer({ default: 5, minimum: 1, maximum: 3600, description: 'a number of seconds, 1 to 3600' }),
  OTEL_EXPORTER_OTLP_ENDPOINT: Type.Optional(Type.String({ pattern: '^https?://', description: 'an http(s) URL of an OTLP receiver, e.g. http://collector:4318' })),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: Type.Optional(Type.String({ pattern: '^https?://', description: 'an http(s) URL spans are posted to, e.g. http://collector:4318/v1/traces' })),
  OTEL_SERVICE_NAME: Type.String({ default: 'codeocean-proxy', minLength: 1, maxLength: 200, description: 'a service name' }),
  OTEL_TRACES_SAMPLER: Type.Union(
    TRACES_SAMPLERS.map((sampler) => Type.Literal(sampler)),
    { default: 'parentbased_always_on', description: `one of ${TRACES_SAMPLERS.join(', ')}` }
  ),
  OTEL_TRACES_SAMPLER_ARG: Type.Number({ default: 1, minimum: 0, maximum: 1, description: 'a fraction of traces to keep, 0 to 1' }),
  OTEL_BSP_SCHEDULE_DELAY: Milliseconds(5_000),
  OTEL_BSP_EXPORT_TIMEOUT: Milliseconds(30_000),
  OTEL_BSP_MAX_QUEUE_SIZE: Type.Integer({ default: 2048, minimum: 1, maximum: 1_000_000, description: 'a number of spans, 1 to 1000000' }),
  OTEL_BSP_MAX_EXPORT_BATCH_SIZE: Type.Integer({ default: 512, minimum: 1, maximum: 1_000_000, description: 'a number of spans, 1 to 1000000' })
})
export type Environment = Static<typeof Environment>

/** Variables whose values are never echoed back in an error message. */
// A collector's URL may carry an API key in its query or user part.
const SECRET_VARIABLES = new Set(['CODEOCEAN_TOKEN', 'DATABASE_URL', 'AUDIT_HMAC_KEY', 'AUDIT_ADMIN_KEY', 'REDIS_URL', 'OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'])

export type TokenSource =
  | { kind: 'value', token: string }
  | { kind: 'file', path: string, checkIntervalMs: number }

export interface GatewayConfig {
  /** Lower case; `authorization` means a Bearer ID token. */
  header: string
  jwksUrl?: string
  publicKeyFile?: string
  issuer: string
  audience: string[]
  algorithms: string[]
  claims: { subject: string, email: string, groups: string }
  fetchTimeoutMs: number
  /** When set, an assertion must carry `iat` and be no older than this. */
  maxTokenAgeSeconds?: number
}

export interface Config {
  codeOcean: {
    /** e.g. `https://codeocean.example.com` */
    origin: string
    /** a path prefix in front of `/api/v1` (usually empty), without a trailing slash */
    basePath: string
    token: TokenSource
    caFile?: string
  }
  /** Where audit records are kept: PostgreSQL when a URL is given, else a SQLite file. */
  /** Where records, keys and owners are kept; PostgreSQL calls are bounded by timeoutMs, client-side. */
  store: { kind: 'postgres', url: string, timeoutMs?: number } | { kind: 'sqlite', path: string }
  audit: {
    /** Audit records held in memory while the store cannot be written, past which requests are refused. */
    queueLimit: number
    hmacKey?: string
    hmacKeyFile?: string
    /** Enables GET /audit/events for callers presenting it as a Bearer token. */
    adminKey?: string
    /** Records older than this many days are deleted; kept forever when unset. */
    retentionDays?: number
  }
  identity: {
    gateway?: GatewayConfig
    trusted: { proxies: string[], userHeader: string, emailHeader: string, groupsHeader: string }
    allowAnonymous: boolean
    /** How long a service key read from the store is used before it is read again; 0 reads it on every call. */
    serviceKeyCacheMs: number
  }
  /** The policy read from POLICY_FILE; the built-in default policy when unset. */
  policy?: PolicyDocument
  /** The Agent-Id Code Ocean is sent, naming the end user. */
  agentIdTemplate: string
  host: string
  port: number
  logLevel: string
  bodyLimitBytes: number
  /** How long callers' connections may take and stay, and how many may be open at once. */
  connections: ConnectionLimits
  upstream: {
    connectTimeoutMs: number
    headersTimeoutMs: number
    bodyTimeoutMs: number
    connections: number
    /** Reads only: attempts in all, the first backoff, and the time all attempts must fit in. */
    retry: { attempts: number, baseDelayMs: number, budgetMs: number }
    /** Calls to Code Ocean at once and per second, and callers allowed to queue for one. */
    limits: { maxConcurrent: number, maxPerSecond: number, queueLimit: number, queueTimeoutMs: number, maxPerCaller: number }
    breaker: { failureThreshold: number, cooldownMs: number, minPaths: number }
  }
  /** staleAfterMs: past every timeout a run's call can take, a claim still in flight was lost after sending. */
  idempotency: { ttlMs: number, required: boolean, staleAfterMs: number }
  polling: {
    /** Identical concurrent polls of one computation share one upstream call. */
    coalesce: boolean
    /** How long a computation in a terminal state is answered from memory; 0 for never. */
    terminalCacheMs: number
    waitIntervalMs: number
    waitMaxMs: number
  }
  rateLimits: { redisUrl?: string, keyPrefix: string, runsPerMinute: number, callsPerMinute: number }
  /** Requests without any credential a source address may make per minute; 0 for no limit. */
  unauthenticatedPerMinute: number
  /** Where /metrics is served: on the API's port, or on a port of its own when one is given. */
  metrics: { port?: number, host: string }
  /** How long in-flight requests get to finish after SIGTERM before their connections are closed. */
  shutdownTimeoutMs: number
  /** Past these (0 for off), new requests get 503 with Retry-After until the process has recovered. */
  overload: { maxEventLoopDelayMs: number, maxEventLoopUtilization: number, maxHeapUsedBytes: number, maxRssBytes: number, retryAfterSeconds: number }
  /** OpenTelemetry tracing; off (and costing nothing) unless an OTLP endpoint is set. */
  tracing?: TracingConfig
}

export interface ConnectionLimits {
  /** The whole request, headers and body, must have arrived within this (then 408 and the connection closed). */
  requestTimeoutMs: number
  /** The request's headers must have arrived within this (then 408 and the connection closed). */
  headersTimeoutMs: number
  /** An idle connection kept alive between requests is closed after this. */
  keepAliveTimeoutMs: number
  /** A connection silent this long, even mid-answer, is closed; 0 for never (the wait endpoint is silent for WAIT_MAX_SECONDS). */
  connectionTimeoutMs: number
  /** Connections open at once; those past it are closed as soon as they are accepted. */
  maxConnections: number
}

export interface TracingConfig {
  /** Where spans are posted as OTLP/HTTP JSON. */
  tracesUrl: string
  serviceName: string
  /** Which traces are kept, with the fraction the ratio samplers keep. */
  sampler: { name: TracesSampler, ratio: number }
  /** How spans are batched to the collector (OpenTelemetry's OTEL_BSP_* variables). */
  batch: { scheduledDelayMillis: number, exportTimeoutMillis: number, maxQueueSize: number, maxExportBatchSize: number }
}

/** Reads the variables the schema names (empty ones count as unset) and builds a Config, or throws ConfigError. */
export function loadConfig (env: NodeJS.ProcessEnv): Config {
  const picked: Record<string, string> = {}
  for (const name of Object.keys(Environment.properties)) {
    const value = env[name]
    if (value !== undefined && value.trim() !== '') picked[name] = value.trim()
  }
  // TypeBox would read `3e4` as 3 and `true` as 1: whole numbers must be written as digits.
  const problems: string[] = []
  const typed: Record<string, string> = {}
  for (const [name, raw] of Object.entries(picked)) {
    const schema = Environment.properties[name as keyof Environment] as TSchema
    if ((schema.type === 'integer' && !/^\d+$/.test(raw)) || (schema.type === 'number' && !/^\d+(\.\d+)?$/.test(raw))) {
      problems.push(`${name}=${JSON.stringify(raw)} is invalid: expected ${String(schema.description)}`)
    } else {
      typed[name] = raw
    }
  }
  const converted = Value.Convert(Environment, Value.Default(Environment, typed))
  const misTyped = new Set(Object.keys(picked).filter((name) => typed[name] === undefined))
  const schemaFailures = schemaProblems(converted, picked, misTyped)
  problems.push(...schemaFailures.values())
  const values = converted as Environment
  // Every check below runs whatever else is wrong, on the variables it reads that are well-formed,
  // so that one start names every problem.
  const wellFormed = (...names: Array<keyof Environment>): boolean => names.every((name) => !misTyped.has(name) && !schemaFailures.has(name))

  const domain = wellFormed('CODEOCEAN_DOMAIN') ? parseDomain(values.CODEOCEAN_DOMAIN, problems) : undefined
  const token = wellFormed('CODEOCEAN_TOKEN', 'CODEOCEAN_TOKEN_FILE') ? tokenSource(values, problems) : undefined
  const gateway = gatewayConfig(values, problems)
  const proxies = listOf(values.TRUSTED_PROXIES)
  const tracesUrl = wellFormed('OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') ? tracesUrlOf(values, problems) : undefined
  for (const proxy of proxies) {
    if (!isTrustedProxyEntry(proxy)) problems.push(`TRUSTED_PROXIES entry ${JSON.stringify(proxy)} is invalid: expected an IP address or CIDR range`)
  }
  // A run can still be out this long; its key must outlive that, or a retry could claim it afresh.
  const longestRunCallMs = values.UPSTREAM_HEADERS_TIMEOUT_MS + values.UPSTREAM_BODY_TIMEOUT_MS + values.UPSTREAM_QUEUE_TIMEOUT_MS + 60_000
  if (wellFormed('IDEMPOTENCY_TTL_HOURS', 'UPSTREAM_HEADERS_TIMEOUT_MS', 'UPSTREAM_BODY_TIMEOUT_MS', 'UPSTREAM_QUEUE_TIMEOUT_MS') &&
    values.IDEMPOTENCY_TTL_HOURS * 3_600_000 <= longestRunCallMs) {
    problems.push('IDEMPOTENCY_TTL_HOURS is too short: keys must outlive the longest call (UPSTREAM_HEADERS_TIMEOUT_MS + UPSTREAM_BODY_TIMEOUT_MS + UPSTREAM_QUEUE_TIMEOUT_MS + 60 s)')
  }
  // Node refuses a headers timeout longer than the request's, which includes the headers.
  if (wellFormed('HEADERS_TIMEOUT_MS', 'REQUEST_TIMEOUT_MS') && values.HEADERS_TIMEOUT_MS > values.REQUEST_TIMEOUT_MS) {
    problems.push('HEADERS_TIMEOUT_MS is longer than REQUEST_TIMEOUT_MS: the headers are part of the request, set it no longer')
  }
  if (wellFormed('AGENT_ID_TEMPLATE') && !/\{(user|subject|email)\}/.test(values.AGENT_ID_TEMPLATE)) {
    problems.push('AGENT_ID_TEMPLATE is invalid: it must name the caller with {user}, {subject} or {email}')
  }
  // The policy is configuration too: its problems are named with the environment's.
  const policy = values.POLICY_FILE === undefined ? undefined : policyIn(values.POLICY_FILE, problems)
  if (problems.length > 0 || domain === undefined || token === undefined) throw new ConfigError(problems)

  return {
    codeOcean: {
      ...domain,
      token,
      ...(values.CODEOCEAN_CA_FILE === undefined ? {} : { caFile: values.CODEOCEAN_CA_FILE })
    },
    store: values.DATABASE_URL === undefined ? { kind: 'sqlite', path: values.AUDIT_DB_PATH } : { kind: 'postgres', url: values.DATABASE_URL, timeoutMs: values.STORE_TIMEOUT_MS },
    audit: {
      queueLimit: values.AUDIT_QUEUE_LIMIT,
      ...(values.AUDIT_HMAC_KEY === undefined ? {} : { hmacKey: values.AUDIT_HMAC_KEY }),
      ...(values.AUDIT_HMAC_KEY_FILE === undefined ? {} : { hmacKeyFile: values.AUDIT_HMAC_KEY_FILE }),
      ...(values.AUDIT_ADMIN_KEY === undefined ? {} : { adminKey: values.AUDIT_ADMIN_KEY }),
      ...(values.AUDIT_RETENTION_DAYS === undefined ? {} : { retentionDays: values.AUDIT_RETENTION_DAYS })
    },
    identity: {
      ...(gateway === undefined ? {} : { gateway }),
      trusted: {
        proxies,
        userHeader: values.TRUSTED_USER_HEADER.toLowerCase(),
        emailHeader: values.TRUSTED_EMAIL_HEADER.toLowerCase(),
        groupsHeader: values.TRUSTED_GROUPS_HEADER.toLowerCase()
      },
      allowAnonymous: values.ALLOW_ANONYMOUS === 'true',
      serviceKeyCacheMs: values.SERVICE_KEY_CACHE_MS
    },
    ...(policy === undefined ? {} : { policy }),
    agentIdTemplate: values.AGENT_ID_TEMPLATE,
    host: values.HOST,
    port: values.PORT,
    logLevel: values.LOG_LEVEL,
    bodyLimitBytes: values.BODY_LIMIT_BYTES,
    connections: {
      requestTimeoutMs: values.REQUEST_TIMEOUT_MS,
      headersTimeoutMs: values.HEADERS_TIMEOUT_MS,
      keepAliveTimeoutMs: values.KEEP_ALIVE_TIMEOUT_MS,
      connectionTimeoutMs: values.CONNECTION_TIMEOUT_MS,
      maxConnections: values.MAX_CONNECTIONS
    },
    upstream: {
      connectTimeoutMs: values.UPSTREAM_CONNECT_TIMEOUT_MS,
      headersTimeoutMs: values.UPSTREAM_HEADERS_TIMEOUT_MS,
      bodyTimeoutMs: values.UPSTREAM_BODY_TIMEOUT_MS,
      connections: values.UPSTREAM_CONNECTIONS,
      retry: { attempts: values.UPSTREAM_RETRY_ATTEMPTS, baseDelayMs: values.UPSTREAM_RETRY_BASE_MS, budgetMs: values.UPSTREAM_RETRY_BUDGET_MS },
      limits: {
        maxConcurrent: values.UPSTREAM_MAX_CONCURRENT,
        maxPerSecond: values.UPSTREAM_MAX_PER_SECOND,
        queueLimit: values.UPSTREAM_QUEUE_LIMIT,
        queueTimeoutMs: values.UPSTREAM_QUEUE_TIMEOUT_MS,
        maxPerCaller: values.UPSTREAM_MAX_PER_CALLER
      },
      breaker: { failureThreshold: values.BREAKER_FAILURES, cooldownMs: values.BREAKER_COOLDOWN_MS, minPaths: values.BREAKER_MIN_PATHS }
    },
    idempotency: { ttlMs: values.IDEMPOTENCY_TTL_HOURS * 3_600_000, required: values.IDEMPOTENCY_REQUIRED === 'true', staleAfterMs: longestRunCallMs },
    polling: { coalesce: values.POLL_COALESCE === 'true', terminalCacheMs: values.POLL_CACHE_MS, waitIntervalMs: values.WAIT_POLL_INTERVAL_MS, waitMaxMs: values.WAIT_MAX_SECONDS * 1000 },
    unauthenticatedPerMinute: values.UNAUTHENTICATED_PER_MINUTE,
    rateLimits: {
      ...(values.REDIS_URL === undefined ? {} : { redisUrl: values.REDIS_URL }),
      keyPrefix: values.RATE_LIMIT_KEY_PREFIX,
      runsPerMinute: values.RATE_LIMIT_RUNS_PER_MINUTE,
      callsPerMinute: values.RATE_LIMIT_CALLS_PER_MINUTE
    },
    metrics: { ...(values.METRICS_PORT === undefined ? {} : { port: values.METRICS_PORT }), host: values.METRICS_HOST ?? values.HOST },
    shutdownTimeoutMs: values.SHUTDOWN_TIMEOUT_MS,
    overload: {
      maxEventLoopDelayMs: values.OVERLOAD_MAX_EVENT_LOOP_DELAY_MS,
      maxEventLoopUtilization: values.OVERLOAD_MAX_EVENT_LOOP_UTILIZATION,
      maxHeapUsedBytes: values.OVERLOAD_MAX_HEAP_USED_BYTES,
      maxRssBytes: values.OVERLOAD_MAX_RSS_BYTES,
      retryAfterSeconds: values.OVERLOAD_RETRY_AFTER_SECONDS
    },
    ...(tracesUrl === undefined
      ? {}
      : {
          tracing: {
            tracesUrl,
            serviceName: values.OTEL_SERVICE_NAME,
            sampler: { name: values.OTEL_TRACES_SAMPLER, ratio: values.OTEL_TRACES_SAMPLER_ARG },
            batch: {
              scheduledDelayMillis: values.OTEL_BSP_SCHEDULE_DELAY,
              exportTimeoutMillis: values.OTEL_BSP_EXPORT_TIMEOUT,
              maxQueueSize: values.OTEL_BSP_MAX_QUEUE_SIZE,
              maxExportBatchSize: Math.min(values.OTEL_BSP_MAX_EXPORT_BATCH_SIZE, values.OTEL_BSP_MAX_QUEUE_SIZE)
            }
          }
        })
  }
}

/**
 * The URL spans go to, as OpenTelemetry defines it: the traces endpoint as given, else the
 * general endpoint with `v1/traces` appended; undefined when neither is set (tracing off).
 */
function tracesUrlOf (values: Environment, problems: string[]): string | undefined {
  const { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: traces, OTEL_EXPORTER_OTLP_ENDPOINT: base } = values
  const url = traces ?? (base === undefined ? undefined : `${base.replace(/\/+$/, '')}/v1/traces`)
  if (url !== undefined && !URL.canParse(url)) {
    // Not echoed: the URL may hold a key (see SECRET_VARIABLES).
    problems.push(`${traces === undefined ? 'OTEL_EXPORTER_OTLP_ENDPOINT' : 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'} is invalid: expected an http(s) URL`)
  }
  return url
}

/** One problem per variable the schema refuses, by name. */
function schemaProblems (value: unknown, raw: Record<string, string>, alreadyReported: Set<string>): Map<string, string> {
  const byVariable = new Map<string, string>()
  for (const error of Value.Errors(Environment, value)) {
    // Every error is about one top-level variable (path `/NAME`); a union reports several.
    const name = error.path.slice(1)
    if (byVariable.has(name) || alreadyReported.has(name)) continue
    const expected = String((Environment.properties[name as keyof Environment] as TSchema).description)
    if (raw[name] === undefined) {
      byVariable.set(name, `${name} is required: set it to ${expected}`)
    } else if (SECRET_VARIABLES.has(name)) {
      byVariable.set(name, `${name} is invalid: expected ${expected}`)
    } else {
      byVariable.set(name, `${name}=${JSON.stringify(raw[name])} is invalid: expected ${expected}`)
    }
  }
  return byVariable
}

/** The policy file's document, or undefined with its problems added. */
function policyIn (path: string, problems: string[]): PolicyDocument | undefined {
  try {
    return loadPolicyFile(path)
  } catch (error) {
    // Loading fails with ConfigError only: an unreadable file, bad syntax, rules that do not check out.
    problems.push(...(error as ConfigError).problems)
    return undefined
  }
}

function parseDomain (domain: string, problems: string[]): { origin: string, basePath: string } | undefined {
  // The value is never echoed whole: a token pasted into it by mistake must not reach the logs.
  let url: URL
  try {
    url = new URL(domain)
  } catch {
    problems.push('CODEOCEAN_DOMAIN is invalid: expected an http(s) origin such as https://codeocean.example.com')
    return undefined
  }
  if (url.username !== '' || url.password !== '') {
    problems.push('CODEOCEAN_DOMAIN is invalid: it must not contain credentials; set CODEOCEAN_TOKEN or CODEOCEAN_TOKEN_FILE')
  } else if (url.search !== '' || url.hash !== '') {
    problems.push('CODEOCEAN_DOMAIN is invalid: it must not contain a query or fragment')
  } else if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    problems.push(`CODEOCEAN_DOMAIN is invalid: the scheme must be https (or http for a local test server), not ${url.protocol}`)
  } else {
    // The SDK appends `/api/v1/` to whatever it is given; accept `/api/v1` typed by mistake too.
    const basePath = url.pathname.replace(/\/+$/, '').replace(/\/api\/v1$/, '')
    return { origin: url.origin, basePath }
  }
  return undefined
}

function listOf (value: string | undefined): string[] {
  return value === undefined ? [] : value.split(',').map((item) => item.trim()).filter((item) => item !== '')
}

/**
 * Where the audit trail, keys and owners are kept, for the command-line tools, by the server's
 * rule and with its checks: PostgreSQL at DATABASE_URL when it is set (with STORE_TIMEOUT_MS),
 * else the SQLite file at AUDIT_DB_PATH. A string says which variable is wrong.
 */
export function storeConfigFrom (env: Readonly<Record<string, string | undefined>>): Config['store'] | string {
  const url = env.DATABASE_URL?.trim()
  if (!url) return { kind: 'sqlite', path: env.AUDIT_DB_PATH?.trim() || Environment.properties.AUDIT_DB_PATH.default }
  if (!Value.Check(Environment.properties.DATABASE_URL, url)) return 'DATABASE_URL must be a postgres:// URL'
  const timeout = Value.Convert(Environment.properties.STORE_TIMEOUT_MS, env.STORE_TIMEOUT_MS?.trim() || Environment.properties.STORE_TIMEOUT_MS.default)
  if (!Value.Check(Environment.properties.STORE_TIMEOUT_MS, timeout)) return `STORE_TIMEOUT_MS must be ${Environment.properties.STORE_TIMEOUT_MS.description}`
  return { kind: 'postgres', url, timeoutMs: timeout as number }
}

function isTrustedProxyEntry (entry: string): boolean {
  try {
    addressList([entry])
    return true
  } catch {
    return false
  }
}

const GATEWAY_SETTINGS = ['GATEWAY_JWKS_URL', 'GATEWAY_PUBLIC_KEY_FILE', 'GATEWAY_JWT_ISSUER', 'GATEWAY_JWT_AUDIENCE', 'GATEWAY_MAX_TOKEN_AGE_SECONDS'] as const

function gatewayConfig (values: Environment, problems: string[]): GatewayConfig | undefined {
  const header = values.GATEWAY_JWT_HEADER
  if (header === undefined) {
    const stray = GATEWAY_SETTINGS.filter((name) => values[name] !== undefined)
    if (stray.length > 0) problems.push(`${stray.join(', ')} set without GATEWAY_JWT_HEADER: set the header the gateway's assertion arrives in`)
    return undefined
  }
  const { GATEWAY_JWKS_URL: jwksUrl, GATEWAY_PUBLIC_KEY_FILE: publicKeyFile, GATEWAY_JWT_ISSUER: issuer } = values
  const audience = listOf(values.GATEWAY_JWT_AUDIENCE)
  if ((jwksUrl === undefined) === (publicKeyFile === undefined)) {
    problems.push('GATEWAY_JWT_HEADER needs exactly one of GATEWAY_JWKS_URL and GATEWAY_PUBLIC_KEY_FILE to verify the assertion with')
  }
  if (issuer === undefined) problems.push('GATEWAY_JWT_ISSUER is required with GATEWAY_JWT_HEADER: set it to the issuer the gateway signs with')
  if (audience.length === 0) problems.push('GATEWAY_JWT_AUDIENCE is required with GATEWAY_JWT_HEADER: set it to the audience the gateway signs for')
  if (issuer === undefined || audience.length === 0) return undefined
  return {
    header: header.toLowerCase(),
    ...(jwksUrl === undefined ? {} : { jwksUrl }),
    ...(publicKeyFile === undefined ? {} : { publicKeyFile }),
    issuer,
    audience,
    algorithms: listOf(values.GATEWAY_JWT_ALGORITHMS),
    claims: { subject: values.GATEWAY_SUBJECT_CLAIM, email: values.GATEWAY_EMAIL_CLAIM, groups: values.GATEWAY_GROUPS_CLAIM },
    fetchTimeoutMs: values.GATEWAY_JWKS_TIMEOUT_MS,
    ...(values.GATEWAY_MAX_TOKEN_AGE_SECONDS === undefined ? {} : { maxTokenAgeSeconds: values.GATEWAY_MAX_TOKEN_AGE_SECONDS })
  }
}

function tokenSource (values: Environment, problems: string[]): TokenSource | undefined {
  const { CODEOCEAN_TOKEN: token, CODEOCEAN_TOKEN_FILE: path } = values
  if (token !== undefined && path !== undefined) {
    problems.push('CODEOCEAN_TOKEN and CODEOCEAN_TOKEN_FILE are both set: set only one')
    return undefined
  }
  if (token !== undefined) return { kind: 'value', token }
  if (path !== undefined) return { kind: 'file', path, checkIntervalMs: values.CODEOCEAN_TOKEN_FILE_CHECK_MS }
  problems.push('CODEOCEAN_TOKEN is required: set it to the Code Ocean access token, or set CODEOCEAN_TOKEN_FILE to a file holding it')
  return undefined
}
