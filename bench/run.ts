// `npm run bench`: what the proxy costs, measured side by side in one run on loopback. For GET
// computation and for a run, each configuration gets the same fixed load (connections, seconds);
// reported: requests/s, p50/p99 latency and the proxy process's CPU per request (from
// /proc/<pid>/stat). Configurations: straight to the simulator (no proxy), and the proxy's full
// pipeline (identity, the default policy with its ownership check, the audit trail) with its
// store in in-memory SQLite (not durable; callers identified by trusted gateway headers), a
// SQLite file and PostgreSQL (callers presenting a service key, looked up on every call).
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import autocannon from 'autocannon'
import { Agent } from 'undici'
import pg from 'pg'
import { SIMULATOR_CAPSULES } from '../src/simulator/index.js'

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5)
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 8)
const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const TOKEN = 'cop_bench-token-0123456789'
const TICKS_PER_SECOND = 100

async function startProcess (args: string[], env: Record<string, string>, ready: RegExp): Promise<{ child: ChildProcess, match: RegExpExecArray }> {
  const child = spawn(process.execPath, args, { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] })
  let output = ''
  return await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${args.join(' ')} did not start`)), 20_000)
    const onData = (chunk: Buffer): void => {
      output += chunk.toString()
      const match = ready.exec(output)
      if (match === null) return
      clearTimeout(timer)
      // From here on the output (audit lines) is read and dropped.
      child.stdout?.off('data', onData)
      child.stdout?.resume()
      resolve({ child, match })
    }
    child.stdout?.on('data', onData)
  })
}

async function cpuTicks (pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).replace(/^.*\) /s, '').split(' ')
  return Number(fields[11]) + Number(fields[12])
}

interface Row { scenario: string, configuration: string, rps: number, p50: number, p99: number, cpuUsPerRequest: number | null }

const basic = (secret: string): Record<string, string> => ({ authorization: `Basic ${Buffer.from(`${secret}:`).toString('base64')}` })

async function load (url: string, scenario: 'get' | 'run', computationId: string, pid: number | undefined, authorization: Record<string, string>): Promise<Omit<Row, 'scenario' | 'configuration'>> {
  const before = pid === undefined ? 0 : await cpuTicks(pid)
  const result = await autocannon({
    connections: CONNECTIONS,
    duration: SECONDS,
    ...(scenario === 'get'
      ? { url: `${url}/api/v1/computations/${computationId}`, method: 'GET', headers: authorization }
      : { url: `${url}/api/v1/computations`, method: 'POST', headers: { 'content-type': 'application/json', ...authorization }, body: JSON.stringify({ capsule_id: SIMULATOR_CAPSULES.analysis }) })
  })
  const requests = result.requests.total
  const cpu = pid === undefined ? null : ((await cpuTicks(pid)) - before) / TICKS_PER_SECOND * 1e6 / requests
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${scenario} on ${url}: ${result.non2xx} non-2xx, ${result.errors} errors`)
  return { rps: Math.round(result.requests.average), p50: result.latency.p50, p99: result.latency.p99, cpuUsPerRequest: cpu === null ? null : Math.round(cpu) }
}

const directory = await mkdtemp(join(tmpdir(), 'codeocean-proxy-bench-'))
const simulator = await startProcess(['--import', 'tsx', 'bench/simulator.ts'], { BENCH_TOKEN: TOKEN }, /(http:\/\/127\.0\.0\.1:\d+)/)
const simulatorUrl = String(simulator.match[1])
/** A run through `url` as the caller: under the default policy only its starter may read it. */
async function seedComputation (url: string, authorization: Record<string, string>): Promise<string> {
  const seed = await fetch(`${url}/api/v1/computations`, {
    method: 'POST', headers: { 'content-type': 'application/json', ...authorization }, body: JSON.stringify({ capsule_id: SIMULATOR_CAPSULES.analysis })
  })
  if (!seed.ok) throw new Error(`seeding through ${url} failed: ${seed.status}`)
  return (await seed.json() as { id: string }).id
}

/** A service key in the configuration's store, made with the keys command line as an operator would. */
async function serviceKey (env: Record<string, string>): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, ['dist/src/cli/keys.js', 'create', '--subject', 'bench-client'], { env: { PATH: process.env.PATH ?? '', ...env } })
  return stdout.trim()
}

/** Requests the simulator has seen since the last call. */
async function upstreamCalls (): Promise<number> {
  const answer = once(simulator.child, 'message') as Promise<[{ seen: number }]>
  simulator.child.send('take')
  return (await answer)[0].seen
}

async function rssKiB (pid: number): Promise<number> {
  return Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1])
}

// The overhead rows measure the proxy, not its protections: limits are raised out of the way.
const UNLIMITED = { UPSTREAM_MAX_CONCURRENT: '4096', UPSTREAM_MAX_PER_SECOND: '100000', UPSTREAM_QUEUE_LIMIT: '100000', RATE_LIMIT_CALLS_PER_MINUTE: '1000000', RATE_LIMIT_RUNS_PER_MINUTE: '1000000' }

const schema = `bench_${process.pid}`
const admin = new pg.Client({ connectionString: DATABASE_URL })
await admin.connect()
await admin.query(`CREATE SCHEMA ${schema}`)

const GATEWAY_CALLER = { 'x-forwarded-user': 'bench-client@example.com' }
const configurations: Array<{ name: string, env: Record<string, string> | undefined, caller: 'gateway' | 'key' }> = [
  { name: 'direct to the simulator (no proxy)', env: undefined, caller: 'gateway' },
  { name: 'proxy, store in SQLite :memory: (not durable), gateway headers', env: { AUDIT_DB_PATH: ':memory:', TRUSTED_PROXIES: '127.0.0.1/32' }, caller: 'gateway' },
  { name: 'proxy, store in a SQLite file, service key', env: { AUDIT_DB_PATH: join(directory, 'audit.sqlite') }, caller: 'key' },
  { name: 'proxy, store in PostgreSQL, service key', env: { DATABASE_URL: `${DATABASE_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}`, AUDIT_HMAC_KEY: 'bench-hmac-key-0123456789' }, caller: 'key' }
]
const POLLERS = Number(process.env.BENCH_POLLERS ?? 100)
const WAITERS = Number(process.env.BENCH_WAITERS ?? 1000)
const pollingRows: string[] = []
const waitRows: string[] = []

async function startProxy (env: Record<string, string>): Promise<{ child: ChildProcess, url: string }> {
  const proxy = await startProcess(['--enable-source-maps', 'dist/src/server.js'], {
    CODEOCEAN_DOMAIN: simulatorUrl, CODEOCEAN_TOKEN: TOKEN, PORT: '0', AUDIT_DB_PATH: ':memory:', TRUSTED_PROXIES: '127.0.0.1/32', ...UNLIMITED, ...env
  }, /Server listening at (http:\/\/127\.0\.0\.1:\d+)/)
  return { child: proxy.child, url: String(proxy.match[1]) }
}

async function stopProxy (child: ChildProcess): Promise<void> {
  child.kill('SIGTERM')
  await once(child, 'exit')
}

/** N clients polling one running computation as fast as they can, with and without shared polls. */
async function pollingBenchmark (): Promise<string[]> {
  const lines: string[] = []
  for (const coalesce of ['true', 'false']) {
    const proxy = await startProxy({ POLL_COALESCE: coalesce })
    const id = await seedComputation(proxy.url, GATEWAY_CALLER)
    await autocannon({ url: `${proxy.url}/api/v1/computations/${id}`, connections: POLLERS, duration: 1, headers: GATEWAY_CALLER })
    await upstreamCalls()
    const result = await autocannon({ url: `${proxy.url}/api/v1/computations/${id}`, connections: POLLERS, duration: SECONDS, headers: GATEWAY_CALLER })
    const upstream = await upstreamCalls()
    if (result.non2xx > 0 || result.errors > 0) throw new Error(`polling: ${result.non2xx} non-2xx, ${result.errors} errors`)
    lines.push(`| ${coalesce === 'true' ? 'shared (default)' : 'not shared (POLL_COALESCE=false)'} | ${POLLERS} | ${Math.round(result.requests.total / SECONDS)} | ${Math.round(upstream / SECONDS)} | ${(result.requests.total / Math.max(1, upstream)).toFixed(1)} |`)
    await stopProxy(proxy.child)
  }
  return lines
}

/** WAITERS callers waiting on one running computation: memory and CPU per waiter, and the polls they cost. */
async function waitBenchmark (): Promise<string> {
  const proxy = await startProxy({})
  const pid = Number(proxy.child.pid)
  const id = await seedComputation(proxy.url, GATEWAY_CALLER)
  await new Promise((resolve) => setTimeout(resolve, 1000))
  const rssBefore = await rssKiB(pid)
  const agent = new Agent({ connections: WAITERS, headersTimeout: 60_000 })
  const waits = Array.from({ length: WAITERS }, async () =>
    await agent.request({ origin: proxy.url, path: `/computations/${id}/wait?timeout=${SECONDS * 3}`, method: 'GET', headers: GATEWAY_CALLER })
      .then(async (response) => { await response.body.dump(); return response.statusCode }, () => 0))
  // Let every waiter arrive, then measure a quiet stretch of waiting.
  await new Promise((resolve) => setTimeout(resolve, SECONDS * 1000 / 2))
  await upstreamCalls()
  const ticksBefore = await cpuTicks(pid)
  await new Promise((resolve) => setTimeout(resolve, SECONDS * 1000))
  const cpuUs = ((await cpuTicks(pid)) - ticksBefore) / TICKS_PER_SECOND * 1e6
  const polls = await upstreamCalls()
  const rssWaiting = await rssKiB(pid)
  const statuses = await Promise.all(waits)
  await agent.close()
  await stopProxy(proxy.child)
  const answered = statuses.filter((status) => status === 202).length
  return `| ${WAITERS} | ${answered} | ${((rssWaiting - rssBefore) / WAITERS).toFixed(1)} KiB | ${(cpuUs / WAITERS / SECONDS).toFixed(1)} µs | ${polls} in ${SECONDS} s |`
}

const rows: Row[] = []
try {
  for (const configuration of configurations) {
    let proxy: Awaited<ReturnType<typeof startProcess>> | undefined
    // Direct calls carry the token the proxy would have injected; proxied ones the caller's proof.
    let authorization = basic(TOKEN)
    if (configuration.env !== undefined) {
      authorization = configuration.caller === 'key' ? basic(await serviceKey(configuration.env)) : GATEWAY_CALLER
      proxy = await startProcess(['--enable-source-maps', 'dist/src/server.js'], {
        CODEOCEAN_DOMAIN: simulatorUrl, CODEOCEAN_TOKEN: TOKEN, PORT: '0', ...UNLIMITED, ...configuration.env
      }, /Server listening at (http:\/\/127\.0\.0\.1:\d+)/)
    }
    const url = proxy === undefined ? simulatorUrl : String(proxy.match[1])
    const computationId = await seedComputation(url, authorization)
    for (const scenario of ['get', 'run'] as const) {
      await load(url, scenario, computationId, proxy?.child.pid, authorization) // warm-up, discarded
      rows.push({ scenario, configuration: configuration.name, ...await load(url, scenario, computationId, proxy?.child.pid, authorization) })
    }
    if (proxy !== undefined) {
      proxy.child.kill('SIGTERM')
      await once(proxy.child, 'exit')
    }
  }
  pollingRows.push(...await pollingBenchmark())
  waitRows.push(await waitBenchmark())
} finally {
  simulator.child.kill('SIGTERM')
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
  await admin.end()
  await rm(directory, { recursive: true, force: true })
}

const table = [
  '| scenario | configuration | req/s | p50 ms | p99 ms | proxy CPU µs/request |',
  '| --- | --- | ---: | ---: | ---: | ---: |',
  ...rows.map((row) => `| ${row.scenario === 'get' ? 'GET computation' : 'run (POST /computations)'} | ${row.configuration} | ${row.rps} | ${row.p50} | ${row.p99} | ${row.cpuUsPerRequest ?? '–'} |`)
].join('\n')
const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`
const polling = [
  '| polls | clients | proxied req/s | upstream calls/s | callers per upstream call |',
  '| --- | ---: | ---: | ---: | ---: |',
  ...pollingRows
].join('\n')
const waiting = [
  '| waiters | answered 202 at their timeout | proxy memory per waiter | proxy CPU per waiter per second | upstream polls |',
  '| ---: | ---: | ---: | ---: | ---: |',
  ...waitRows
].join('\n')
const report = `# Benchmark results\n\n${new Date().toISOString().slice(0, 10)}, ${machine}. ${CONNECTIONS} connections for ${SECONDS} s per row after a discarded warm-up of the same length; loopback; the simulator and the proxy each in a process of their own; the proxy's upstream and per-caller limits raised out of the way. Reproduce with \`npm run bench\`.\n\n${table}\n\n## Polling one running computation\n\n${POLLERS} clients polling one computation as fast as they can for ${SECONDS} s (store in SQLite :memory:).\n\n${polling}\n\n## The wait endpoint\n\n${WAITERS} callers waiting on one running computation (polled every WAIT_POLL_INTERVAL_MS = 5 s by default), measured over ${SECONDS} s of waiting.\n\n${waiting}\n`
await writeFile('bench/results.md', report)
process.stdout.write(`${report}\n`)
