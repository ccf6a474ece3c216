// Configuration: defaults, conversions, and one message per bad variable (secrets never echoed).
import t from 'tap'
import { fileURLToPath } from 'node:url'
import { loadConfig, storeConfigFrom } from '../src/config.js'
import { ConfigError } from '../src/errors.js'
import { loadPolicyFile } from '../src/policy/policy-file.js'

const TWO_TEAMS_POLICY_FILE = fileURLToPath(new URL('fixtures/two-teams-policy.yaml', import.meta.url))

const VALID = { CODEOCEAN_DOMAIN: 'https://codeocean.example.com', CODEOCEAN_TOKEN: 'cop_abc' }

function problemsOf (env: Record<string, string>): string[] {
  try {
    loadConfig(env)
  } catch (error) {
    if (error instanceof ConfigError) return error.problems
    throw error
  }
  return []
}

t.test('defaults fill everything but the domain and the token', async (t) => {
  const config = loadConfig(VALID)
  t.same(config, {
    codeOcean: { origin: 'https://codeocean.example.com', basePath: '', token: { kind: 'value', token: 'cop_abc' } },
    store: { kind: 'sqlite', path: './data/codeocean-proxy.sqlite' },
    audit: { queueLimit: 10_000 },
    identity: {
      trusted: { proxies: [], userHeader: 'x-forwarded-user', emailHeader: 'x-forwarded-email', groupsHeader: 'x-forwarded-groups' },
      allowAnonymous: false,
      serviceKeyCacheMs: 1000
    },
    agentIdTemplate: 'codeocean-proxy/{user}',
    host: '127.0.0.1',
    port: 8080,
    logLevel: 'info',
    bodyLimitBytes: 1_048_576,
    connections: { requestTimeoutMs: 30_000, headersTimeoutMs: 10_000, keepAliveTimeoutMs: 72_000, connectionTimeoutMs: 0, maxConnections: 1024 },
    upstream: {
      connectTimeoutMs: 5000,
      headersTimeoutMs: 30_000,
      bodyTimeoutMs: 30_000,
      connections: 64,
      retry: { attempts: 3, baseDelayMs: 200, budgetMs: 10_000 },
      limits: { maxConcurrent: 64, maxPerSecond: 100, queueLimit: 256, queueTimeoutMs: 5000, maxPerCaller: 16 },
      breaker: { failureThreshold: 5, cooldownMs: 10_000, minPaths: 3 }
    },
    idempotency: { ttlMs: 86_400_000, required: false, staleAfterMs: 125_000 },
    polling: { coalesce: true, terminalCacheMs: 1000, waitIntervalMs: 5000, waitMaxMs: 600_000 },
    unauthenticatedPerMinute: 120,
    rateLimits: { keyPrefix: 'codeocean-proxy:rate:', runsPerMinute: 30, callsPerMinute: 1200 },
    metrics: { host: '127.0.0.1' },
    shutdownTimeoutMs: 25_000,
    overload: { maxEventLoopDelayMs: 1000, maxEventLoopUtilization: 0.98, maxHeapUsedBytes: 0, maxRssBytes: 0, retryAfterSeconds: 5 }
  })
})

t.test('metrics, shutdown and overload settings are read from the environment', async (t) => {
  const config = loadConfig({
    ...VALID,
    HOST: '0.0.0.0',
    METRICS_PORT: '9464',
    SHUTDOWN_TIMEOUT_MS: '60000',
    OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0',
    OVERLOAD_MAX_EVENT_LOOP_UTILIZATION: '0.9',
    OVERLOAD_MAX_HEAP_USED_BYTES: '1073741824',
    OVERLOAD_MAX_RSS_BYTES: '2147483648',
    OVERLOAD_RETRY_AFTER_SECONDS: '30'
  })
  t.same(config.metrics, { port: 9464, host: '0.0.0.0' }, 'metrics listen where the API does unless METRICS_HOST says otherwise')
  t.same(loadConfig({ ...VALID, METRICS_PORT: '9464', METRICS_HOST: '127.0.0.1' }).metrics, { port: 9464, host: '127.0.0.1' })
  t.equal(config.shutdownTimeoutMs, 60_000)
  t.same(config.overload, { maxEventLoopDelayMs: 0, maxEventLoopUtilization: 0.9, maxHeapUsedBytes: 1_073_741_824, maxRssBytes: 2_147_483_648, retryAfterSeconds: 30 })
})

t.test('fractions must be written as decimals from 0 to 1', async (t) => {
  for (const value of ['true', '9e-1', '.9', '1.5', '-0.5', '0,9']) {
    t.match(problemsOf({ ...VALID, OVERLOAD_MAX_EVENT_LOOP_UTILIZATION: value }), [/^OVERLOAD_MAX_EVENT_LOOP_UTILIZATION=".*" is invalid: expected a fraction, 0 \(off\) to 1/], value)
  }
  t.equal(loadConfig({ ...VALID, OVERLOAD_MAX_EVENT_LOOP_UTILIZATION: '1' }).overload.maxEventLoopUtilization, 1)
})

t.test('numbers are read from strings and empty variables count as unset', async (t) => {
  const config = loadConfig({ ...VALID, PORT: '9000', UPSTREAM_HEADERS_TIMEOUT_MS: '1500', HOST: '', LOG_LEVEL: 'debug', CODEOCEAN_CA_FILE: '/etc/ca.pem' })
  t.equal(config.port, 9000)
  t.equal(config.upstream.headersTimeoutMs, 1500)
  t.equal(config.host, '127.0.0.1')
  t.equal(config.logLevel, 'debug')
  t.equal(config.codeOcean.caFile, '/etc/ca.pem')
})

t.test('a domain keeps a path prefix, drops trailing slashes and a typed /api/v1', async (t) => {
  t.same(loadConfig({ ...VALID, CODEOCEAN_DOMAIN: 'https://example.com/codeocean/' }).codeOcean.basePath, '/codeocean')
  t.same(loadConfig({ ...VALID, CODEOCEAN_DOMAIN: 'https://example.com/api/v1/' }).codeOcean.basePath, '')
  t.same(loadConfig({ ...VALID, CODEOCEAN_DOMAIN: 'http://127.0.0.1:9999' }).codeOcean.origin, 'http://127.0.0.1:9999')
})

t.test('DATABASE_URL selects PostgreSQL, and is never echoed', async (t) => {
  t.same(loadConfig({ ...VALID, DATABASE_URL: 'postgres://proxy:pw@db:5432/audit' }).store, { kind: 'postgres', url: 'postgres://proxy:pw@db:5432/audit', timeoutMs: 5000 })
  t.same(loadConfig({ ...VALID, DATABASE_URL: 'postgres://db/audit', STORE_TIMEOUT_MS: '800' }).store, { kind: 'postgres', url: 'postgres://db/audit', timeoutMs: 800 })
  const problems = problemsOf({ ...VALID, DATABASE_URL: 'mysql://proxy:pw@db/audit' })
  t.match(problems, [/^DATABASE_URL is invalid: expected a PostgreSQL URL/])
  t.notMatch(problems.join(' '), /pw/)
})

t.test('the audit HMAC key and its file are read from the environment', async (t) => {
  t.same(loadConfig({ ...VALID, AUDIT_HMAC_KEY: 'k'.repeat(20) }).audit, { queueLimit: 10_000, hmacKey: 'k'.repeat(20) })
  t.same(loadConfig({ ...VALID, AUDIT_HMAC_KEY_FILE: '/run/secrets/hmac', AUDIT_QUEUE_LIMIT: '50' }).audit, { queueLimit: 50, hmacKeyFile: '/run/secrets/hmac' })
})

t.test('a gateway assertion is configured with its header, key source, issuer and audience', async (t) => {
  const config = loadConfig({
    ...VALID,
    GATEWAY_JWT_HEADER: 'X-Pomerium-Jwt-Assertion',
    GATEWAY_JWKS_URL: 'https://auth.example.com/.well-known/pomerium/jwks.json',
    GATEWAY_JWT_ISSUER: 'auth.example.com',
    GATEWAY_JWT_AUDIENCE: 'proxy.example.com, other.example.com',
    GATEWAY_JWT_ALGORITHMS: 'ES256,EdDSA',
    GATEWAY_GROUPS_CLAIM: 'roles'
  })
  t.same(config.identity.gateway, {
    header: 'x-pomerium-jwt-assertion',
    jwksUrl: 'https://auth.example.com/.well-known/pomerium/jwks.json',
    issuer: 'auth.example.com',
    audience: ['proxy.example.com', 'other.example.com'],
    algorithms: ['ES256', 'EdDSA'],
    claims: { subject: 'sub', email: 'email', groups: 'roles' },
    fetchTimeoutMs: 3000
  })
  t.equal(loadConfig({ ...VALID, GATEWAY_JWT_HEADER: 'Authorization', GATEWAY_PUBLIC_KEY_FILE: '/etc/gw.pem', GATEWAY_JWT_ISSUER: 'i', GATEWAY_JWT_AUDIENCE: 'a' }).identity.gateway?.publicKeyFile, '/etc/gw.pem')
})

t.test('a maximum gateway token age is optional, in whole seconds, and only with a gateway', async (t) => {
  const gateway = { ...VALID, GATEWAY_JWT_HEADER: 'Authorization', GATEWAY_PUBLIC_KEY_FILE: '/etc/gw.pem', GATEWAY_JWT_ISSUER: 'i', GATEWAY_JWT_AUDIENCE: 'a' }
  t.equal(loadConfig({ ...gateway, GATEWAY_MAX_TOKEN_AGE_SECONDS: '600' }).identity.gateway?.maxTokenAgeSeconds, 600)
  t.equal(loadConfig(gateway).identity.gateway?.maxTokenAgeSeconds, undefined, 'unset: no maximum')
  t.match(problemsOf({ ...gateway, GATEWAY_MAX_TOKEN_AGE_SECONDS: '0' }), [/^GATEWAY_MAX_TOKEN_AGE_SECONDS="0" is invalid/])
  t.match(problemsOf({ ...VALID, GATEWAY_MAX_TOKEN_AGE_SECONDS: '600' }), [/GATEWAY_MAX_TOKEN_AGE_SECONDS set without GATEWAY_JWT_HEADER/])
})

t.test('gateway settings that cannot work are refused, each named', async (t) => {
  t.match(problemsOf({ ...VALID, GATEWAY_JWKS_URL: 'https://auth.example.com/jwks' }), [/GATEWAY_JWKS_URL set without GATEWAY_JWT_HEADER/])
  t.match(problemsOf({ ...VALID, GATEWAY_JWT_HEADER: 'X-Assertion' }), [
    /needs exactly one of GATEWAY_JWKS_URL and GATEWAY_PUBLIC_KEY_FILE/,
    /GATEWAY_JWT_ISSUER is required/,
    /GATEWAY_JWT_AUDIENCE is required/
  ])
  t.match(problemsOf({ ...VALID, GATEWAY_JWT_HEADER: 'X-Assertion', GATEWAY_JWKS_URL: 'https://a/j', GATEWAY_PUBLIC_KEY_FILE: '/k', GATEWAY_JWT_ISSUER: 'i', GATEWAY_JWT_AUDIENCE: 'a' }),
    [/exactly one of/])
  t.match(problemsOf({ ...VALID, GATEWAY_JWT_ALGORITHMS: 'HS256' }), [/^GATEWAY_JWT_ALGORITHMS="HS256" is invalid: expected comma-separated asymmetric/])
  t.match(problemsOf({ ...VALID, GATEWAY_JWT_ALGORITHMS: 'none' }), [/GATEWAY_JWT_ALGORITHMS/])
})

t.test('trusted proxies, anonymous access, the policy file and the Agent-Id template', async (t) => {
  const config = loadConfig({ ...VALID, TRUSTED_PROXIES: '10.0.0.0/8, ::1,192.168.1.7', ALLOW_ANONYMOUS: 'true', POLICY_FILE: TWO_TEAMS_POLICY_FILE, AGENT_ID_TEMPLATE: 'proxy:{email}', TRUSTED_USER_HEADER: 'X-Auth-Request-User' })
  t.same(config.identity.trusted.proxies, ['10.0.0.0/8', '::1', '192.168.1.7'])
  t.equal(config.identity.trusted.userHeader, 'x-auth-request-user')
  t.equal(config.identity.allowAnonymous, true)
  t.same(config.policy, loadPolicyFile(TWO_TEAMS_POLICY_FILE), 'the policy is read with the configuration')
  t.equal(config.agentIdTemplate, 'proxy:{email}')
  t.match(problemsOf({ ...VALID, TRUSTED_PROXIES: '10.0.0.0/33,example.com' }), [/entry "10.0.0.0\/33" is invalid/, /entry "example.com" is invalid/])
  t.match(problemsOf({ ...VALID, ALLOW_ANONYMOUS: 'yes' }), [/^ALLOW_ANONYMOUS="yes" is invalid: expected true or false/])
  t.match(problemsOf({ ...VALID, AGENT_ID_TEMPLATE: 'codeocean-proxy' }), [/AGENT_ID_TEMPLATE is invalid: it must name the caller/])
})

t.test('idempotency, retries, upstream limits, polling and rate limits are read from the environment', async (t) => {
  const config = loadConfig({
    ...VALID,
    IDEMPOTENCY_TTL_HOURS: '2',
    IDEMPOTENCY_REQUIRED: 'true',
    UPSTREAM_RETRY_ATTEMPTS: '1',
    UPSTREAM_MAX_PER_SECOND: '5',
    BREAKER_FAILURES: '2',
    POLL_CACHE_MS: '0',
    POLL_COALESCE: 'false',
    WAIT_MAX_SECONDS: '30',
    REDIS_URL: 'redis://:secret@redis:6379/2',
    RATE_LIMIT_RUNS_PER_MINUTE: '5'
  })
  t.same(config.idempotency, { ttlMs: 7_200_000, required: true, staleAfterMs: 125_000 }, 'a claim is stale past the longest call a run can take: headers, body and queue timeouts, and a minute')
  t.equal(config.upstream.retry.attempts, 1)
  t.equal(config.upstream.limits.maxPerSecond, 5)
  t.equal(config.upstream.breaker.failureThreshold, 2)
  t.same(config.polling, { coalesce: false, terminalCacheMs: 0, waitIntervalMs: 5000, waitMaxMs: 30_000 })
  t.equal(config.rateLimits.redisUrl, 'redis://:secret@redis:6379/2')
  t.equal(config.rateLimits.runsPerMinute, 5)
  const problems = problemsOf({ ...VALID, REDIS_URL: 'http://:secret@redis' })
  t.match(problems, [/^REDIS_URL is invalid: expected a Redis URL/])
  t.notMatch(problems.join(' '), /secret/, 'a Redis URL may hold a password: never echoed')
})

t.test('connection timeouts and the connection cap are read from the environment', async (t) => {
  const config = loadConfig({ ...VALID, REQUEST_TIMEOUT_MS: '20000', HEADERS_TIMEOUT_MS: '5000', KEEP_ALIVE_TIMEOUT_MS: '65000', CONNECTION_TIMEOUT_MS: '900000', MAX_CONNECTIONS: '5000' })
  t.same(config.connections, { requestTimeoutMs: 20_000, headersTimeoutMs: 5000, keepAliveTimeoutMs: 65_000, connectionTimeoutMs: 900_000, maxConnections: 5000 })
  t.same(problemsOf({ ...VALID, MAX_CONNECTIONS: '0' }), ['MAX_CONNECTIONS="0" is invalid: expected a connection count, 1 to 1000000'])
})

t.test('the headers timeout cannot outlast the request timeout, which includes the headers', async (t) => {
  t.same(problemsOf({ ...VALID, REQUEST_TIMEOUT_MS: '5000', HEADERS_TIMEOUT_MS: '6000' }), [
    'HEADERS_TIMEOUT_MS is longer than REQUEST_TIMEOUT_MS: the headers are part of the request, set it no longer'
  ])
  t.same(problemsOf({ ...VALID, REQUEST_TIMEOUT_MS: 'soon', HEADERS_TIMEOUT_MS: '6000' }), ['REQUEST_TIMEOUT_MS="soon" is invalid: expected a whole number of milliseconds, 1 to 3600000'], 'a bad value is not compared')
})

t.test('idempotency keys must outlive the longest call a run can make', async (t) => {
  t.match(problemsOf({ ...VALID, IDEMPOTENCY_TTL_HOURS: '1', UPSTREAM_HEADERS_TIMEOUT_MS: '3600000' }), [/^IDEMPOTENCY_TTL_HOURS is too short/])
})

t.test('a token file is used instead of a token', async (t) => {
  const config = loadConfig({ CODEOCEAN_DOMAIN: VALID.CODEOCEAN_DOMAIN, CODEOCEAN_TOKEN_FILE: '/run/secrets/token', CODEOCEAN_TOKEN_FILE_CHECK_MS: '250' })
  t.same(config.codeOcean.token, { kind: 'file', path: '/run/secrets/token', checkIntervalMs: 250 })
})

t.test('every bad variable is reported by name, each once', async (t) => {
  const problems = problemsOf({ PORT: 'eighty', LOG_LEVEL: 'loud', UPSTREAM_CONNECTIONS: '0', BODY_LIMIT_BYTES: '1.5', UPSTREAM_BODY_TIMEOUT_MS: '-1' })
  t.same(problems.map((problem) => problem.split(/[ =]/)[0]).sort(), [
    'BODY_LIMIT_BYTES', 'CODEOCEAN_DOMAIN', 'CODEOCEAN_TOKEN', 'LOG_LEVEL', 'PORT', 'UPSTREAM_BODY_TIMEOUT_MS', 'UPSTREAM_CONNECTIONS'
  ])
  t.match(problems.find((problem) => problem.startsWith('PORT')), /PORT="eighty" is invalid: expected a TCP port, 0 to 65535/)
  t.match(problems.find((problem) => problem.startsWith('BODY_LIMIT_BYTES')), /BODY_LIMIT_BYTES="1.5" is invalid/, 'the value as typed is echoed')
  t.match(problems.find((problem) => problem.startsWith('CODEOCEAN_DOMAIN')), /CODEOCEAN_DOMAIN is required/)
})

t.test('one reading names every problem: schema, domain, token, template, policy and the rest together', async (t) => {
  t.same(problemsOf({}), [
    'CODEOCEAN_DOMAIN is required: set it to the Code Ocean origin, e.g. https://codeocean.example.com',
    'CODEOCEAN_TOKEN is required: set it to the Code Ocean access token, or set CODEOCEAN_TOKEN_FILE to a file holding it'
  ], 'nothing set: both required variables at once')
  const problems = problemsOf({
    PORT: 'abc',
    CODEOCEAN_DOMAIN: 'ftp://codeocean.example.com',
    AGENT_ID_TEMPLATE: 'codeocean-proxy',
    TRUSTED_PROXIES: '10.0.0.0/33',
    IDEMPOTENCY_TTL_HOURS: '1',
    UPSTREAM_HEADERS_TIMEOUT_MS: '3600000',
    POLICY_FILE: '/nonexistent/policy.yaml'
  })
  t.same(problems, [
    'PORT="abc" is invalid: expected a TCP port, 0 to 65535',
    'CODEOCEAN_DOMAIN is invalid: the scheme must be https (or http for a local test server), not ftp:',
    'CODEOCEAN_TOKEN is required: set it to the Code Ocean access token, or set CODEOCEAN_TOKEN_FILE to a file holding it',
    'TRUSTED_PROXIES entry "10.0.0.0/33" is invalid: expected an IP address or CIDR range',
    'IDEMPOTENCY_TTL_HOURS is too short: keys must outlive the longest call (UPSTREAM_HEADERS_TIMEOUT_MS + UPSTREAM_BODY_TIMEOUT_MS + UPSTREAM_QUEUE_TIMEOUT_MS + 60 s)',
    'AGENT_ID_TEMPLATE is invalid: it must name the caller with {user}, {subject} or {email}',
    'POLICY_FILE /nonexistent/policy.yaml cannot be read: ENOENT'
  ])
})

t.test('a check on a variable that is already refused adds nothing to its problem', async (t) => {
  t.same(problemsOf({ ...VALID, AGENT_ID_TEMPLATE: 'x'.repeat(201) }), [`AGENT_ID_TEMPLATE="${'x'.repeat(201)}" is invalid: expected a template using {user}, {subject} or {email}`])
  t.same(problemsOf({ ...VALID, IDEMPOTENCY_TTL_HOURS: 'a day' }), ['IDEMPOTENCY_TTL_HOURS="a day" is invalid: expected a number of hours, 1 to 720'])
})

t.test('whole numbers must be written as digits', async (t) => {
  for (const value of ['3e4', '0x50', 'true', '80.5', '-1', ' 1 2']) {
    t.match(problemsOf({ ...VALID, UPSTREAM_HEADERS_TIMEOUT_MS: value }), [/^UPSTREAM_HEADERS_TIMEOUT_MS=".*" is invalid/], value)
  }
  t.match(problemsOf({ ...VALID, PORT: '99999' }), [/^PORT="99999" is invalid: expected a TCP port/], 'digits out of range')
  t.match(problemsOf({ ...VALID, SERVICE_KEY_CACHE_MS: '1001' }), [/^SERVICE_KEY_CACHE_MS="1001" is invalid: expected a whole number of milliseconds, 0 \(read the key on every call\) to 1000/],
    'a key is read again within a second at most')
  t.equal(loadConfig({ ...VALID, SERVICE_KEY_CACHE_MS: '0' }).identity.serviceKeyCacheMs, 0)
})

t.test('a missing token is one clear problem', async (t) => {
  t.same(problemsOf({ CODEOCEAN_DOMAIN: VALID.CODEOCEAN_DOMAIN }), [
    'CODEOCEAN_TOKEN is required: set it to the Code Ocean access token, or set CODEOCEAN_TOKEN_FILE to a file holding it'
  ])
  t.same(problemsOf({ CODEOCEAN_DOMAIN: VALID.CODEOCEAN_DOMAIN, CODEOCEAN_TOKEN: '   ' }).length, 1, 'blank is missing')
})

t.test('an invalid token is reported without echoing it', async (t) => {
  const problems = problemsOf({ ...VALID, CODEOCEAN_TOKEN: `cop_${'x'.repeat(5000)}` })
  t.match(problems, [/^CODEOCEAN_TOKEN is invalid: expected the Code Ocean access token, at most 4096 characters$/])
})

t.test('a token and a token file together are refused', async (t) => {
  t.match(problemsOf({ ...VALID, CODEOCEAN_TOKEN_FILE: '/x' }), [/both set/])
})

t.test('bad domains are refused with the reason', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['cop_pasted_here_by_mistake', /expected an http\(s\) origin/],
    ['ftp://codeocean.example.com', /scheme must be https .*not ftp:/],
    ['https://cop_secret:@codeocean.example.com', /must not contain credentials/],
    ['ftp://cop_secret@codeocean.example.com', /must not contain credentials/],
    ['https://codeocean.example.com/?token=cop_secret', /query or fragment/]
  ]
  for (const [domain, problem] of cases) {
    const problems = problemsOf({ ...VALID, CODEOCEAN_DOMAIN: domain })
    t.match(problems, [problem], domain)
    t.notMatch(problems.join(' '), /cop_/, `${domain}: nothing secret echoed`)
  }
})

t.test('tracing is off without an OTLP endpoint, and spans go to <endpoint>/v1/traces with one', async (t) => {
  t.equal(loadConfig(VALID).tracing, undefined)
  t.same(loadConfig({ ...VALID, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).tracing, {
    tracesUrl: 'http://collector:4318/v1/traces',
    serviceName: 'codeocean-proxy',
    sampler: { name: 'parentbased_always_on', ratio: 1 },
    batch: { scheduledDelayMillis: 5000, exportTimeoutMillis: 30000, maxQueueSize: 2048, maxExportBatchSize: 512 }
  })
  t.match(loadConfig({ ...VALID, OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otel.example.com/otlp/', OTEL_SERVICE_NAME: 'proxy-eu' }).tracing,
    { tracesUrl: 'https://otel.example.com/otlp/v1/traces', serviceName: 'proxy-eu' })
})

t.test('OpenTelemetry\'s sampler and batch variables are read and checked (the SDK no longer reads them itself)', async (t) => {
  const tracing = loadConfig({
    ...VALID,
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
    OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
    OTEL_TRACES_SAMPLER_ARG: '0.1',
    OTEL_BSP_SCHEDULE_DELAY: '1000',
    OTEL_BSP_EXPORT_TIMEOUT: '2000',
    OTEL_BSP_MAX_QUEUE_SIZE: '100',
    OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '500'
  }).tracing
  t.same(tracing?.sampler, { name: 'parentbased_traceidratio', ratio: 0.1 })
  t.same(tracing?.batch, { scheduledDelayMillis: 1000, exportTimeoutMillis: 2000, maxQueueSize: 100, maxExportBatchSize: 100 }, 'a batch is never larger than the queue')
  t.match(problemsOf({ ...VALID, OTEL_TRACES_SAMPLER: 'sometimes' }), [/^OTEL_TRACES_SAMPLER="sometimes" is invalid: expected one of always_on, /])
  t.match(problemsOf({ ...VALID, OTEL_TRACES_SAMPLER_ARG: '2' }), [/^OTEL_TRACES_SAMPLER_ARG="2" is invalid: expected a fraction of traces to keep/])
})

t.test('a traces endpoint is used as it is, and wins over the general one', async (t) => {
  const traces = 'https://otel.example.com/custom/spans'
  t.equal(loadConfig({ ...VALID, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: traces }).tracing?.tracesUrl, traces)
  t.equal(loadConfig({ ...VALID, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: traces }).tracing?.tracesUrl, traces)
})

t.test('a bad OTLP endpoint is refused without echoing it', async (t) => {
  const cases: Array<[string, string]> = [
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'collector:4318?api-key=sekrit'],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'http://[sekrit'],
    ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'https://sekrit:x@[::1'],
    ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'grpc://collector:4317']
  ]
  for (const [name, value] of cases) {
    const problems = problemsOf({ ...VALID, [name]: value })
    t.match(problems, [new RegExp(`^${name} is invalid: expected an http\\(s\\) URL`)], value)
    t.notMatch(problems.join(' '), /sekrit/, `${value}: not echoed`)
  }
})

t.test('the command-line tools choose the store by the server\'s rule, with its checks', async (t) => {
  t.same(storeConfigFrom({}), { kind: 'sqlite', path: './data/codeocean-proxy.sqlite' })
  t.same(storeConfigFrom({ AUDIT_DB_PATH: ' /var/lib/proxy/audit.sqlite ' }), { kind: 'sqlite', path: '/var/lib/proxy/audit.sqlite' })
  t.same(storeConfigFrom({ DATABASE_URL: 'postgres://proxy@db/proxy', AUDIT_DB_PATH: '/ignored' }), { kind: 'postgres', url: 'postgres://proxy@db/proxy', timeoutMs: 5_000 })
  t.same(storeConfigFrom({ DATABASE_URL: 'postgresql://proxy@db/proxy', STORE_TIMEOUT_MS: '250' }), { kind: 'postgres', url: 'postgresql://proxy@db/proxy', timeoutMs: 250 })
  t.equal(storeConfigFrom({ DATABASE_URL: 'mysql://proxy@db/proxy' }), 'DATABASE_URL must be a postgres:// URL')
  for (const bad of ['abc', '50', '60001', '1.5']) {
    t.equal(storeConfigFrom({ DATABASE_URL: 'postgres://proxy@db/proxy', STORE_TIMEOUT_MS: bad }), 'STORE_TIMEOUT_MS must be a whole number of milliseconds, 100 to 60000', bad)
  }
  t.same(storeConfigFrom({ DATABASE_URL: ' ' }), { kind: 'sqlite', path: './data/codeocean-proxy.sqlite' }, 'a blank DATABASE_URL is unset')
  const server = loadConfig({ ...VALID, DATABASE_URL: 'postgres://proxy@db/proxy', STORE_TIMEOUT_MS: '250' }).store
  t.same(storeConfigFrom({ DATABASE_URL: 'postgres://proxy@db/proxy', STORE_TIMEOUT_MS: '250' }), server, 'the same as the server\'s')
})
