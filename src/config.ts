// The process's configuration: one TypeBox schema over the environment, turned into a typed
// Config, with one message per bad variable so an operator can fix them all in one go.
import { Type, type Static, type TInteger, type TSchema } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { ConfigError } from './errors.js'

const LogLevel = Type.Union(
  ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((level) => Type.Literal(level)),
  { description: 'one of fatal, error, warn, info, debug, trace, silent' }
)

const Milliseconds = (fallback: number): TInteger =>
  Type.Integer({ minimum: 1, maximum: 3_600_000, default: fallback, description: 'a whole number of milliseconds, 1 to 3600000' })

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
  UPSTREAM_CONNECT_TIMEOUT_MS: Milliseconds(5_000),
  UPSTREAM_HEADERS_TIMEOUT_MS: Milliseconds(30_000),
  UPSTREAM_BODY_TIMEOUT_MS: Milliseconds(30_000),
  UPSTREAM_CONNECTIONS: Type.Integer({ default: 64, minimum: 1, maximum: 4096, description: 'a connection count, 1 to 4096' }),
  DATABASE_URL: Type.Optional(Type.String({ pattern: '^postgres(ql)?://', description: 'a PostgreSQL URL, postgres://user@host:5432/database' })),
  AUDIT_DB_PATH: Type.String({ default: './data/codeocean-proxy.sqlite', description: 'a path for the SQLite audit database' }),
  AUDIT_HMAC_KEY: Type.Optional(Type.String({ description: 'the key audit HMACs are made with, at least 16 bytes' })),
  AUDIT_HMAC_KEY_FILE: Type.Optional(Type.String({ description: 'a file holding the key audit HMACs are made with' })),
  AUDIT_ADMIN_KEY: Type.Optional(Type.String({ minLength: 16, description: 'a key of at least 16 characters for GET /audit/events' })),
  AUDIT_RETENTION_DAYS: Type.Optional(Type.Integer({ minimum: 1, maximum: 36_500, description: 'a number of days, 1 to 36500' })),
  AUDIT_QUEUE_LIMIT: Type.Integer({ default: 10_000, minimum: 1, maximum: 1_000_000, description: 'a record count, 1 to 1000000' })
})
export type Environment = Static<typeof Environment>

/** Variables whose values are never echoed back in an error message. */
const SECRET_VARIABLES = new Set(['CODEOCEAN_TOKEN', 'DATABASE_URL', 'AUDIT_HMAC_KEY', 'AUDIT_ADMIN_KEY'])

export type TokenSource =
  | { kind: 'value', token: string }
  | { kind: 'file', path: string, checkIntervalMs: number }

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
  store: { kind: 'postgres', url: string } | { kind: 'sqlite', path: string }
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
  host: string
  port: number
  logLevel: string
  bodyLimitBytes: number
  upstream: {
    connectTimeoutMs: number
    headersTimeoutMs: number
    bodyTimeoutMs: number
    connections: number
  }
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
    if (schema.type === 'integer' && !/^\d+$/.test(raw)) {
      problems.push(`${name}=${JSON.stringify(raw)} is invalid: expected ${String(schema.description)}`)
    } else {
      typed[name] = raw
    }
  }
  const converted = Value.Convert(Environment, Value.Default(Environment, typed))
  problems.push(...schemaProblems(converted, picked, new Set(Object.keys(picked).filter((name) => typed[name] === undefined))))
  if (problems.length > 0) throw new ConfigError(problems)
  const values = converted as Environment

  const domain = parseDomain(values.CODEOCEAN_DOMAIN, problems)
  const token = tokenSource(values, problems)
  if (problems.length > 0 || domain === undefined || token === undefined) throw new ConfigError(problems)

  return {
    codeOcean: {
      ...domain,
      token,
      ...(values.CODEOCEAN_CA_FILE === undefined ? {} : { caFile: values.CODEOCEAN_CA_FILE })
    },
    store: values.DATABASE_URL === undefined ? { kind: 'sqlite', path: values.AUDIT_DB_PATH } : { kind: 'postgres', url: values.DATABASE_URL },
    audit: {
      queueLimit: values.AUDIT_QUEUE_LIMIT,
      ...(values.AUDIT_HMAC_KEY === undefined ? {} : { hmacKey: values.AUDIT_HMAC_KEY }),
      ...(values.AUDIT_HMAC_KEY_FILE === undefined ? {} : { hmacKeyFile: values.AUDIT_HMAC_KEY_FILE }),
      ...(values.AUDIT_ADMIN_KEY === undefined ? {} : { adminKey: values.AUDIT_ADMIN_KEY }),
      ...(values.AUDIT_RETENTION_DAYS === undefined ? {} : { retentionDays: values.AUDIT_RETENTION_DAYS })
    },
    host: values.HOST,
    port: values.PORT,
    logLevel: values.LOG_LEVEL,
    bodyLimitBytes: values.BODY_LIMIT_BYTES,
    upstream: {
      connectTimeoutMs: values.UPSTREAM_CONNECT_TIMEOUT_MS,
      headersTimeoutMs: values.UPSTREAM_HEADERS_TIMEOUT_MS,
      bodyTimeoutMs: values.UPSTREAM_BODY_TIMEOUT_MS,
      connections: values.UPSTREAM_CONNECTIONS
    }
  }
}

function schemaProblems (value: unknown, raw: Record<string, string>, alreadyReported: Set<string>): string[] {
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
  return [...byVariable.values()]
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
