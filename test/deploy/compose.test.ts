// compose.yaml, checked against the code it runs: valid YAML in Compose's shape, variables the
// proxy and the simulator read, ports and secrets that line up, PostgreSQL and Redis as the
// proxy reaches them, and time to drain on stop. Where Docker and its compose plugin are
// available, the stack is built and started with the simulator and serves one run.
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { parseDocument } from 'yaml'
import { Environment, loadConfig } from '../../src/config.js'
import { SIMULATOR_CAPSULES } from '../../src/simulator/seed.js'
import { SIMULATOR_VARIABLES } from '../../src/simulator/standalone.js'
import { dockerUnavailable, run } from '../helpers/docker.js'
import { PROJECT_ROOT } from '../helpers/spawn-child.js'

interface Service {
  build?: string
  image?: string
  pull_policy?: string
  profiles?: string[]
  command?: string[]
  env_file?: Array<{ path: string, required: boolean }>
  environment?: Record<string, string>
  secrets?: string[]
  ports?: string[]
  depends_on?: Record<string, { condition: string }>
  healthcheck?: { test?: string[], disable?: boolean }
  stop_grace_period?: string
}
interface ComposeFile { name: string, services: Record<string, Service>, secrets: Record<string, { file: string }>, volumes: Record<string, unknown> }

const read = async (file: string): Promise<string> => await readFile(join(PROJECT_ROOT, file), 'utf8')
const text = await read('compose.yaml')
const document = parseDocument(text, { uniqueKeys: true, strict: true })
const compose = document.toJS() as ComposeFile
const { proxy = {}, postgres = {}, redis = {}, simulator = {} } = compose.services
const packageJson = JSON.parse(await read('package.json')) as { version: string, bin: Record<string, string> }

/** Compose's variables that are not the proxy's: each must be explained in the file's header. */
const COMPOSE_VARIABLES = { POSTGRES_PASSWORD: 'a-password-for-the-test', PROXY_PORT: undefined, SIMULATOR_PORT: undefined }

/** Compose's interpolation as this file uses it: ${NAME}, ${NAME:-default} and ${NAME:?message}. */
function interpolate (value: string, env: Readonly<Record<string, string | undefined>>): string {
  return value.replace(/\$\{([A-Z][A-Z0-9_]*)(?::([-?])([^}]*))?\}/g, (_all, name: string, operator: string | undefined, operand: string) => {
    const given = env[name]
    if (given !== undefined && given !== '') return given
    if (operator === '?') throw new Error(`${name}: ${operand}`)
    return operator === '-' ? operand : ''
  })
}

function environmentOf (service: Service, env: Readonly<Record<string, string | undefined>> = COMPOSE_VARIABLES): Record<string, string> {
  return Object.fromEntries(Object.entries(service.environment ?? {}).map(([name, value]) => [name, interpolate(String(value), env)]))
}

/** The container side of each `host:container` port mapping. */
const containerPorts = (service: Service): number[] => (service.ports ?? []).map((mapping) => Number(mapping.split(':').at(-1)))

t.test('compose.yaml is YAML in Compose\'s shape, with no obsolete version key', async (t) => {
  t.same(document.errors, [])
  t.same(document.warnings, [])
  t.same(Object.keys(compose).sort(), ['name', 'secrets', 'services', 'volumes'])
  t.same(Object.keys(compose.services).sort(), ['postgres', 'proxy', 'redis', 'simulator'])
  t.same(Object.entries(compose.services).filter(([, service]) => service.profiles !== undefined).map(([name, service]) => [name, service.profiles]),
    [['simulator', ['simulator']]], 'only the simulator is optional, under a profile of its name')
})

t.test('the proxy is built from this Dockerfile and tagged with the package\'s version; the simulator runs the same image', async (t) => {
  t.equal(proxy.build, '.')
  await t.resolves(read('Dockerfile'))
  t.equal(proxy.image, `codeocean-proxy:${packageJson.version}`)
  t.equal(simulator.image, proxy.image)
  t.equal(simulator.pull_policy, 'never', 'built by the proxy service, never pulled')
  t.equal(simulator.build, undefined)
  const [command, ...args] = simulator.command ?? []
  t.equal(packageJson.bin[command ?? ''], 'dist/src/cli/simulator.js', 'the simulator\'s command is its bin')
  t.same(args, [])
})

t.test('every variable given to the proxy is one it reads, and they make a valid configuration', async (t) => {
  const environment = environmentOf(proxy)
  for (const name of Object.keys(environment)) t.ok(Object.hasOwn(Environment.properties, name), `${name} is a proxy variable`)
  const config = loadConfig(environment)
  t.equal(config.store.kind, 'postgres', 'the audit trail, keys and owners in PostgreSQL')
  t.ok(config.rateLimits.redisUrl, 'rate limits in Redis')
  t.equal(config.host, '0.0.0.0')
  t.same(containerPorts(proxy), [config.port], 'the published port is the one it listens on')
  t.match(proxy.ports, [/^127\.0\.0\.1:\$\{PROXY_PORT:-8080\}:\d+$/], 'on loopback, as the header says')
  t.same(proxy.env_file, [{ path: '.env', required: false }], '.env (from .env.example) reaches it when there is one')
})

t.test('PostgreSQL and Redis are reached where their services are, with the credentials PostgreSQL is given', async (t) => {
  const environment = environmentOf(proxy)
  const url = new URL(environment.DATABASE_URL ?? '')
  const database = environmentOf(postgres)
  t.equal(url.hostname, 'postgres')
  t.equal(url.port, '5432')
  t.equal(url.username, database.POSTGRES_USER)
  t.equal(decodeURIComponent(url.password), database.POSTGRES_PASSWORD)
  t.equal(url.pathname, `/${database.POSTGRES_DB}`)
  t.equal(proxy.environment?.DATABASE_URL?.includes('${POSTGRES_PASSWORD:?'), true, 'one password variable for both, required')
  t.equal(postgres.environment?.POSTGRES_PASSWORD, proxy.environment?.DATABASE_URL?.match(/\$\{POSTGRES_PASSWORD[^}]*\}/)?.[0])
  t.equal(new URL(environment.REDIS_URL ?? '').host, 'redis:6379')
  for (const name of ['postgres', 'redis']) {
    t.same(proxy.depends_on?.[name], { condition: 'service_healthy' }, `the proxy starts once ${name} is healthy`)
    t.equal(compose.services[name]?.healthcheck?.test?.[0], 'CMD', `${name} has a health check`)
  }
  t.throws(() => environmentOf(proxy, {}), /POSTGRES_PASSWORD: set POSTGRES_PASSWORD in \.env/, 'without a password nothing starts')
})

t.test('every *_FILE variable names a secret the service mounts, from a file', async (t) => {
  for (const [name, service] of Object.entries({ proxy, simulator })) {
    const files = Object.entries(environmentOf(service)).filter(([variable]) => variable.endsWith('_FILE'))
    t.ok(files.length > 0, `${name} reads secrets from files`)
    for (const [variable, path] of files) {
      const secret = /^\/run\/secrets\/([\w-]+)$/.exec(path)?.[1] ?? ''
      t.ok(service.secrets?.includes(secret), `${name}'s ${variable} is its secret ${secret}`)
      t.match(compose.secrets[secret]?.file, /^\.\/secrets\/[\w-]+$/, `${secret} comes from ./secrets/`)
    }
  }
  t.same(Object.keys(environmentOf(proxy)).filter((name) => name.endsWith('_FILE')).sort(), ['AUDIT_HMAC_KEY_FILE', 'CODEOCEAN_TOKEN_FILE'],
    'the token, and the audit key PostgreSQL needs')
  t.equal(environmentOf(simulator).CODEOCEAN_TOKEN_FILE, environmentOf(proxy).CODEOCEAN_TOKEN_FILE, 'the simulator accepts the token the proxy sends')
  for (const ignore of ['.gitignore', '.dockerignore']) {
    const lines = (await read(ignore)).split('\n')
    t.ok(lines.includes('.env') && lines.some((line) => /^secrets\/?$/.test(line)), `${ignore} keeps .env and secrets/ out`)
  }
})

t.test('the simulator is where the proxy points by default, and its result URLs where it is published', async (t) => {
  const environment = environmentOf(simulator)
  for (const name of Object.keys(environment)) t.ok((SIMULATOR_VARIABLES as readonly string[]).includes(name), `${name} is a simulator variable`)
  t.equal(environmentOf(proxy).CODEOCEAN_DOMAIN, `http://simulator:${environment.PORT}`)
  t.same(containerPorts(simulator), [Number(environment.PORT)])
  t.equal(environment.HOST, '0.0.0.0')
  const published = environmentOf(simulator, { ...COMPOSE_VARIABLES, SIMULATOR_PORT: '18081' })
  t.equal(published.SIMULATOR_PUBLIC_URL, 'http://127.0.0.1:18081')
  t.match(simulator.ports, ['127.0.0.1:${SIMULATOR_PORT:-8081}:8081'])
  t.same(simulator.healthcheck, { disable: true }, 'the image\'s check of /livez does not apply to it')
  t.equal(environmentOf(proxy, { ...COMPOSE_VARIABLES, CODEOCEAN_DOMAIN: 'https://codeocean.example.com' }).CODEOCEAN_DOMAIN,
    'https://codeocean.example.com', 'CODEOCEAN_DOMAIN from .env or the shell points it at Code Ocean')
})

t.test('stopping leaves the proxy time to drain', async (t) => {
  const graceMs = Number(/^(\d+)s$/.exec(proxy.stop_grace_period ?? '')?.[1]) * 1000
  const shutdownMs = Number(environmentOf(proxy).SHUTDOWN_TIMEOUT_MS ?? Environment.properties.SHUTDOWN_TIMEOUT_MS.default)
  // After the deadline, closing (audit flush, store) gets up to 5 s more before the server exits.
  t.ok(graceMs >= shutdownMs + 5_000, `${graceMs} ms ≥ SHUTDOWN_TIMEOUT_MS ${shutdownMs} ms + 5 s`)
})

t.test('every variable interpolated is the proxy\'s or one the header explains', async (t) => {
  const header = text.slice(0, text.indexOf('\nname:'))
  const interpolated = new Set([...text.matchAll(/\$\{([A-Z][A-Z0-9_]*)/g)].map(([, name]) => name as string))
  for (const name of interpolated) {
    if (Object.hasOwn(Environment.properties, name)) continue
    t.ok(Object.hasOwn(COMPOSE_VARIABLES, name), `${name} is a compose variable`)
    t.ok(header.includes(name), `the header explains ${name}`)
  }
  t.same([...interpolated].sort(), ['CODEOCEAN_DOMAIN', 'POSTGRES_PASSWORD', 'PROXY_PORT', 'SIMULATOR_PORT'])
})

async function freePort (): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  server.close()
  return port
}

const images = [postgres.image ?? '', redis.image ?? '', /^FROM (\S+)/m.exec(await read('Dockerfile'))?.[1] ?? '']
const withoutDocker = await dockerUnavailable({ images, compose: true })
// Building the image and starting four containers outlasts tap's 30 s for a file by far.
if (withoutDocker === undefined) t.setTimeout(900_000)
t.test('the stack starts with the simulator and serves a run', { skip: withoutDocker ?? false }, async (t) => {
  const directory = await mkdtemp(join(tmpdir(), 'codeocean-proxy-compose-'))
  t.teardown(() => rm(directory, { recursive: true, force: true }))
  await writeFile(join(directory, 'codeocean-token'), `cop_compose_${randomBytes(8).toString('hex')}`, { mode: 0o644 })
  await writeFile(join(directory, 'audit-hmac-key'), randomBytes(32).toString('hex'), { mode: 0o644 })
  const image = `codeocean-proxy-test:${process.pid}`
  // Secrets from the test's folder, an image of its own, and no developer's .env.
  await writeFile(join(directory, 'override.yaml'), [
    'services:',
    `  proxy: { image: "${image}", env_file: !reset [] }`,
    `  simulator: { image: "${image}" }`,
    'secrets:',
    `  codeocean-token: { file: "${join(directory, 'codeocean-token')}" }`,
    `  audit-hmac-key: { file: "${join(directory, 'audit-hmac-key')}" }`,
    ''
  ].join('\n'))
  const proxyPort = await freePort()
  const env: NodeJS.ProcessEnv = { ...process.env, POSTGRES_PASSWORD: randomBytes(12).toString('hex'), PROXY_PORT: String(proxyPort), SIMULATOR_PORT: String(await freePort()) }
  delete env.CODEOCEAN_DOMAIN
  const project = ['compose', '--project-name', `codeocean-proxy-test-${process.pid}`, '--file', 'compose.yaml', '--file', join(directory, 'override.yaml'), '--profile', 'simulator']
  const docker = async (...args: string[]): Promise<string> => (await run('docker', [...project, ...args], { cwd: PROJECT_ROOT, env, timeout: 600_000 })).stdout.trim()
  t.teardown(async () => {
    await docker('down', '--volumes', '--remove-orphans').catch(() => undefined)
    await run('docker', ['image', 'rm', '-f', image]).catch(() => undefined)
  })
  await docker('up', '--detach', '--build', '--wait', '--wait-timeout', '300')
  const key = await docker('exec', '-T', 'proxy', 'codeocean-proxy-keys', 'create', '--subject', 'compose-test')
  t.match(key, /^cpx_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/)
  const response = await fetch(`http://127.0.0.1:${proxyPort}/api/v1/computations`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}`, 'content-type': 'application/json' },
    body: JSON.stringify({ capsule_id: SIMULATOR_CAPSULES.analysis }),
    signal: AbortSignal.timeout(30_000)
  })
  t.equal(response.status, 200)
  t.equal((await response.json() as { state: string }).state, 'initializing', 'the simulator started it')
  t.equal((await fetch(`http://127.0.0.1:${proxyPort}/readyz`, { signal: AbortSignal.timeout(10_000) })).status, 200, 'ready: PostgreSQL answers')
})
