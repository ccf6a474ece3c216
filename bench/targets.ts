// What the load is sent to, each in a process of its own: the simulator (the upstream everyone
// forwards to), Fastify answering locally, a bare reply-from forwarder, nginx, and the proxy.
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'
import { SIMULATOR_CAPSULES } from '../src/simulator/index.js'
import { ask, onCleanup, startChild, stopChild, type Child } from './children.js'
import { saturate, type RequestSpec } from './load.js'
import { startNginx } from './nginx.js'
import { cpuMicros } from './proc.js'

export const TOKEN = 'cop_bench-token-0123456789'
/** A caller proven by the identity headers of a trusted gateway (the benchmark's address is trusted). */
export const GATEWAY_CALLER = { 'x-forwarded-user': 'bench-client@example.com' }
export const basic = (secret: string): string => `Basic ${Buffer.from(`${secret}:`).toString('base64')}`
const LISTENING = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/
const URL_LINE = /^(http:\/\/127\.0\.0\.1:\d+)$/m

// The proxy rows measure the proxy, not its protections: limits are raised out of the way, and
// load shedding is off (at saturation it would answer 503 by design).
export const UNLIMITED = {
  UPSTREAM_MAX_CONCURRENT: '4096',
  UPSTREAM_MAX_PER_CALLER: '4096',
  UNAUTHENTICATED_PER_MINUTE: '0',
  UPSTREAM_MAX_PER_SECOND: '100000',
  UPSTREAM_QUEUE_LIMIT: '100000',
  RATE_LIMIT_CALLS_PER_MINUTE: '1000000',
  RATE_LIMIT_RUNS_PER_MINUTE: '1000000',
  OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0',
  OVERLOAD_MAX_EVENT_LOOP_UTILIZATION: '0'
}

export interface Bench {
  directory: string
  simulator: Child
  simulatorUrl: string
}

let logs = 0
const logFile = (bench: Bench, name: string): string => join(bench.directory, `${name}-${++logs}.log`)

export async function startSimulator (directory: string): Promise<Bench> {
  const simulator = await startChild(process.execPath, ['--import', 'tsx', 'bench/simulator.ts'], { env: { BENCH_TOKEN: TOKEN }, log: join(directory, 'simulator.log'), ready: URL_LINE, ipc: true })
  return { directory, simulator, simulatorUrl: String(simulator.match[1]) }
}

/** Requests the simulator has seen since the last call (and forgets, so it does not grow). */
export async function upstreamCalls (bench: Bench): Promise<number> {
  return (await ask<{ seen: number }>(bench.simulator.process, 'take')).seen
}

/** Makes the simulator answer requests whose path matches `path` `delayMs` late, until cleared. */
export async function slowUpstream (bench: Bench, delayMs: number | undefined, path = '^/api/v1/computations'): Promise<void> {
  await ask(bench.simulator.process, delayMs === undefined ? { clearFaults: true } : { delayMs, path })
}

export const runSpec = (headers: Record<string, string>): RequestSpec => ({
  method: 'POST', path: '/api/v1/computations', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ capsule_id: SIMULATOR_CAPSULES.analysis })
})
export const getSpec = (id: string, headers: Record<string, string>): RequestSpec => ({ method: 'GET', path: `/api/v1/computations/${id}`, headers })

/** A run started through `url` as the caller (under the default policy only its starter may read it). */
export async function seedComputation (url: string, headers: Record<string, string>): Promise<string> {
  const spec = runSpec(headers)
  const seed = await fetch(`${url}${spec.path}`, { method: 'POST', headers: spec.headers, body: spec.body ?? null, signal: AbortSignal.timeout(10_000) })
  if (!seed.ok) throw new Error(`seeding through ${url} failed: ${seed.status}`)
  return (await seed.json() as { id: string }).id
}

/** CPU µs per request of `configuration`'s processes while `spec` saturates it; the simulator's count of calls is reset after. */
export async function cpuPerRequest (bench: Bench, configuration: Configuration, spec: RequestSpec, connections: number, seconds: number): Promise<{ cpuUs: number, rps: number }> {
  const before = await cpuMicros(configuration.pids)
  const result = await saturate(configuration.url, spec, connections, seconds).catch((error: Error) => { throw new Error(`${configuration.name}: ${error.message}`) })
  const cpuUs = ((await cpuMicros(configuration.pids)) - before) / result.requests
  await upstreamCalls(bench)
  return { cpuUs, rps: result.rps }
}

export interface Configuration {
  name: string
  url: string
  /** The processes whose CPU and memory are the configuration's (none for the simulator itself). */
  pids: number[]
  get: RequestSpec
  run: RequestSpec
  stop: () => Promise<void>
  /** The proxy's log file (its audit lines), for a proxy. */
  log?: string
}

export async function direct (bench: Bench): Promise<Configuration> {
  const headers = { authorization: basic(TOKEN) }
  const id = await seedComputation(bench.simulatorUrl, headers)
  return { name: 'direct to the simulator (no proxy)', url: bench.simulatorUrl, pids: [], get: getSpec(id, headers), run: runSpec(headers), stop: async () => {} }
}

async function nodeConfiguration (bench: Bench, name: string, script: string, env: Record<string, string>): Promise<Configuration> {
  const child = await startChild(process.execPath, [script], { env, log: logFile(bench, script.replace(/\W+/g, '-')), ready: URL_LINE })
  const url = String(child.match[1])
  const headers = { authorization: basic(TOKEN) }
  const id = await seedComputation(url, headers)
  return { name, url, pids: [child.pid], get: getSpec(id, headers), run: runSpec(headers), stop: async () => { await stopChild(child.process) } }
}

/** Fastify answering the same paths itself with a computation as the simulator sends it. */
export async function localFastify (bench: Bench): Promise<Configuration> {
  const headers = { authorization: basic(TOKEN) }
  const id = await seedComputation(bench.simulatorUrl, headers)
  const computation = await (await fetch(`${bench.simulatorUrl}/api/v1/computations/${id}`, { headers, signal: AbortSignal.timeout(10_000) })).text()
  return await nodeConfiguration(bench, 'Fastify answering locally (no upstream)', 'dist/bench/local.js', { BENCH_COMPUTATION: computation })
}

export async function replyFrom (bench: Bench): Promise<Configuration> {
  return await nodeConfiguration(bench, 'bare @fastify/reply-from forwarder', 'dist/bench/forwarder.js', { BENCH_UPSTREAM: bench.simulatorUrl, BENCH_TOKEN: TOKEN })
}

export async function nginx (bench: Bench, binary: string): Promise<Configuration> {
  const started = await startNginx(binary, bench.directory, bench.simulatorUrl, basic(TOKEN))
  const headers = { authorization: basic(TOKEN) }
  const id = await seedComputation(started.url, headers)
  return { name: 'nginx (1 worker, keep-alive upstream)', url: started.url, pids: started.pids, get: getSpec(id, headers), run: runSpec(headers), stop: async () => { await stopChild(started.child.process) } }
}

/** A service key in the store `env` points at, made with the keys command line as an operator would. */
export async function serviceKey (env: Record<string, string>): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, ['dist/src/cli/keys.js', 'create', '--subject', 'bench-client'], { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 20_000 })
  return stdout.trim()
}

export interface Proxy {
  child: Child
  url: string
}

/**
 * Node's flags for the proxy: those of `npm start` (`node <flags> dist/src/server.js`, which the
 * image's NODE_OPTIONS match, test/bins.test.ts checks), unless BENCH_PROXY_NODE_FLAGS says
 * otherwise (for an A/B).
 */
const START = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: { start: string } }).scripts.start
export const PROXY_NODE_FLAGS = (process.env.BENCH_PROXY_NODE_FLAGS ?? START.split(' ').slice(1, -1).join(' ')).split(' ').filter((flag) => flag !== '')

export async function startProxy (bench: Bench, env: Record<string, string>, nodeFlags: readonly string[] = PROXY_NODE_FLAGS): Promise<Proxy> {
  const child = await startChild(process.execPath, [...nodeFlags, 'dist/src/server.js'], {
    env: { CODEOCEAN_DOMAIN: bench.simulatorUrl, CODEOCEAN_TOKEN: TOKEN, PORT: '0', AUDIT_DB_PATH: ':memory:', TRUSTED_PROXIES: '127.0.0.1/32', ...UNLIMITED, ...env },
    log: logFile(bench, 'proxy'),
    ready: LISTENING
  })
  return { child, url: String(child.match[1]) }
}

/** The full pipeline with callers presenting a service key (read at most once per SERVICE_KEY_CACHE_MS, as configured by default). */
export async function proxy (bench: Bench, name: string, store: Record<string, string>, nodeFlags: readonly string[] = PROXY_NODE_FLAGS): Promise<Configuration> {
  // The proxy makes its database; the key is made in it afterwards, as an operator would.
  const started = await startProxy(bench, store, nodeFlags)
  const headers = { authorization: basic(await serviceKey(store)) }
  const id = await seedComputation(started.url, headers)
  return { name, url: started.url, pids: [started.child.pid], get: getSpec(id, headers), run: runSpec(headers), stop: async () => { await stopChild(started.child.process) }, log: started.child.log }
}

let sqliteFiles = 0
export const sqliteStore = (bench: Bench): Record<string, string> => ({ AUDIT_DB_PATH: join(bench.directory, `audit-${++sqliteFiles}.sqlite`) })

/**
 * A fresh schema in PostgreSQL for this run, dropped at the end; undefined when the server does
 * not answer (the PostgreSQL rows are then skipped).
 */
export async function postgresStore (databaseUrl: string): Promise<Record<string, string> | undefined> {
  const admin = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5_000 })
  try {
    await admin.connect()
  } catch {
    return undefined
  }
  const schema = `bench_${process.pid}_${Date.now()}`
  await admin.query(`CREATE SCHEMA ${schema}`)
  onCleanup(async () => {
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
    await admin.end()
  })
  const separator = databaseUrl.includes('?') ? '&' : '?'
  return { DATABASE_URL: `${databaseUrl}${separator}options=${encodeURIComponent(`-c search_path=${schema}`)}`, AUDIT_HMAC_KEY: 'bench-hmac-key-0123456789' }
}
