// `npm run bench`: what the proxy costs, side by side in one run on loopback against the simulator,
// Fastify answering locally, a bare reply-from forwarder and nginx; writes bench/results.md.
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { cleanUp, onCleanup } from './children.js'
import { decisionsBenchmark } from './decisions.js'
import { failuresOf, fixedRate, saturate } from './load.js'
import { findNginx, nginxVersion } from './nginx.js'
import { pollingBenchmark, waitBenchmark } from './polling.js'
import { memoryMB } from './proc.js'
import { machine, report, type Measured, type Results, type Scenario, type Settings } from './report.js'
import { shutdownUnderLoad } from './shutdown.js'
import { soak } from './soak.js'
import { percentile } from './stats.js'
import * as targets from './targets.js'

const QUICK = process.env.BENCH_QUICK === '1'
const setting = (name: string, normal: number, quick: number): number => {
  const value = Number(process.env[name] ?? (QUICK ? quick : normal))
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number`)
  return value
}
const settings: Settings = {
  seconds: setting('BENCH_SECONDS', 5, 2),
  connections: setting('BENCH_CONNECTIONS', 8, 8),
  rounds: Math.max(1, setting('BENCH_ROUNDS', 3, 1)),
  rate: setting('BENCH_RATE', 1000, 1000),
  rateSeconds: setting('BENCH_RATE_SECONDS', 5, 2),
  rssConnections: setting('BENCH_RSS_CONNECTIONS', 500, 500),
  soakSeconds: setting('BENCH_SOAK_SECONDS', 300, 20),
  soakRate: setting('BENCH_SOAK_RATE', 500, 500),
  shutdownRate: setting('BENCH_SHUTDOWN_RATE', 200, 200),
  shutdownSeconds: setting('BENCH_SHUTDOWN_SECONDS', 4, 2),
  shutdownDelayMs: setting('BENCH_SHUTDOWN_DELAY_MS', 200, 200),
  pollers: setting('BENCH_POLLERS', 100, 100),
  waiters: setting('BENCH_WAITERS', 1000, 200)
}
const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

// However it goes, the benchmark ends: a watchdog at twice the expected time (plus start-ups).
const expectedSeconds = 6 * 2 * (settings.rounds + 1) * (settings.seconds + settings.rateSeconds + 1) +
  settings.soakSeconds + 2 * (settings.seconds + 10) + settings.shutdownSeconds + 4 * settings.seconds + 60 +
  2 * (settings.rounds + 1) * (settings.seconds + 1) + 30
const watchdog = setTimeout(() => {
  process.stderr.write(`the benchmark ran over ${2 * expectedSeconds + 120} s; stopping it\n`)
  void cleanUp().finally(() => process.exit(1))
}, (2 * expectedSeconds + 120) * 1000).unref()
const step = (text: string): void => { process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${text}\n`) }

await promisify(execFile)(join('node_modules', '.bin', 'tsc'), ['-p', 'bench/tsconfig.json'], { timeout: 120_000 })
const directory = await mkdtemp(join(tmpdir(), 'codeocean-proxy-bench-'))
// Kept when the benchmark fails: the logs of every process it started are there.
let failed = false
onCleanup(async () => {
  if (failed) process.stderr.write(`the benchmark failed: the logs of its processes are kept in ${directory}\n`)
  else await rm(directory, { recursive: true, force: true })
})

let output: string
try {
  output = await benchmark()
} catch (error) {
  failed = true
  throw error
} finally {
  await cleanUp()
  clearTimeout(watchdog)
}
await writeFile('bench/results.md', output)
process.stdout.write(output)

async function benchmark (): Promise<string> {
  const notes: string[] = []
  const bench = await targets.startSimulator(directory)
  const nginxBinary = await findNginx()
  const nginx = nginxBinary === undefined ? 'not installed' : await nginxVersion(nginxBinary)
  const machineLine = machine(nginx)
  const postgres = await targets.postgresStore(DATABASE_URL)

  step('starting the configurations')
  const configurations = [await targets.direct(bench), await targets.localFastify(bench), await targets.replyFrom(bench)]
  if (nginxBinary !== undefined) configurations.push(await targets.nginx(bench, nginxBinary))
  else notes.push('nginx is not installed (`apt-get install nginx`): its rows are missing.')
  const proxies = [await targets.proxy(bench, 'proxy, store in a SQLite file', targets.sqliteStore(bench))]
  if (postgres !== undefined) proxies.push(await targets.proxy(bench, 'proxy, store in PostgreSQL', postgres))
  else notes.push(`PostgreSQL did not answer at ${DATABASE_URL}: its rows are missing.`)
  configurations.push(...proxies)
  const [direct, , forwarder] = configurations
  const measured: Results['measured'] = { get: new Map(), run: new Map() }
  for (const scenario of ['get', 'run'] as const) {
    for (const configuration of configurations) {
      measured[scenario].set(configuration.name, { rps: [], cpuUs: [], p50: [], p99: [], addedP50: [], addedP99: [], behind: 0, cpuRatio: [] })
    }
  }
  const cell = (scenario: Scenario, name: string): Measured => measured[scenario].get(name) as Measured

  // Round 0 is the warm-up; rounds rotate the order and reverse it every other time (ABAB, BABA).
  for (let round = 0; round <= settings.rounds; round++) {
    const keep = round > 0
    const rotated = configurations.map((_, i) => configurations[(i + round) % configurations.length] as targets.Configuration)
    const order = round % 2 === 1 ? rotated.reverse() : rotated
    for (const scenario of ['get', 'run'] as const) {
      step(`round ${round}${keep ? '' : ' (warm-up)'}: ${scenario}, saturation`)
      for (const configuration of order) {
        const { cpuUs, rps } = await targets.cpuPerRequest(bench, configuration, configuration[scenario], settings.connections, settings.seconds)
        if (!keep) continue
        cell(scenario, configuration.name).rps.push(rps)
        cell(scenario, configuration.name).cpuUs.push(configuration.pids.length === 0 ? Number.NaN : cpuUs)
      }
      step(`round ${round}${keep ? '' : ' (warm-up)'}: ${scenario}, ${settings.rate} req/s`)
      const latencies = new Map<string, { p50: number, p99: number }>()
      for (const configuration of order) {
        const spec = configuration[scenario]
        const result = await fixedRate(configuration.url, { rate: settings.rate, seconds: settings.rateSeconds, warmUpSeconds: QUICK ? 0.5 : 1, request: () => spec })
        await targets.upstreamCalls(bench)
        if (result.errors > 0 || result.non2xx > 0) throw new Error(`${configuration.name}, ${scenario} at ${settings.rate} req/s: ${result.errors} errors, ${result.non2xx} non-2xx (${failuresOf(result)})`)
        latencies.set(configuration.name, { p50: percentile(result.latenciesMs, 50), p99: percentile(result.latenciesMs, 99) })
        if (keep) cell(scenario, configuration.name).behind += result.skipped
      }
      if (!keep) continue
      const baseline = latencies.get(direct?.name ?? '') as { p50: number, p99: number }
      for (const [name, { p50, p99 }] of latencies) {
        const m = cell(scenario, name)
        m.p50.push(p50)
        m.p99.push(p99)
        m.addedP50.push(p50 - baseline.p50)
        m.addedP99.push(p99 - baseline.p99)
      }
      const forwarderCpu = cell(scenario, forwarder?.name ?? '').cpuUs.at(-1) as number
      for (const configuration of configurations) {
        const m = cell(scenario, configuration.name)
        m.cpuRatio.push((m.cpuUs.at(-1) as number) / forwarderCpu)
      }
    }
  }
  const peakMB = new Map<string, number>()
  for (const configuration of configurations) {
    if (configuration.pids.length > 0) peakMB.set(configuration.name, await memoryMB(configuration.pids, 'VmHWM'))
    await configuration.stop()
  }

  step(`peak memory at ${settings.rssConnections} connections`)
  const manyConnections: Results['manyConnections'] = []
  for (const [name, store] of [['proxy, store in a SQLite file', targets.sqliteStore(bench)], ['proxy, store in PostgreSQL', postgres]] as const) {
    if (store === undefined) continue
    const configuration = await targets.proxy(bench, name, store)
    try {
      const result = await saturate(configuration.url, configuration.get, settings.rssConnections, settings.seconds, 'count')
      manyConnections.push({ name, rps: result.rps, peakMB: await memoryMB(configuration.pids, 'VmHWM'), refused: result.non2xx === 0 ? '' : await refusalsIn(String(configuration.log), result.non2xx) })
    } finally {
      await configuration.stop()
      await targets.upstreamCalls(bench)
    }
  }

  let soakResult
  if (settings.soakSeconds > 0) {
    step(`soak: ${settings.soakRate} req/s for ${settings.soakSeconds} s`)
    soakResult = await soak(bench, settings.soakSeconds, settings.soakRate)
  }
  step('graceful shutdown under load')
  const shutdown = await shutdownUnderLoad(bench, settings.shutdownRate, settings.shutdownSeconds, settings.shutdownDelayMs)
  step('polling and the wait endpoint')
  const polling = await pollingBenchmark(bench, settings.pollers, settings.seconds)
  const wait = await waitBenchmark(bench, settings.waiters, settings.seconds)
  step('decisions, with and without')
  const decisions = await decisionsBenchmark(bench, settings)

  return report({
    settings, nginx, notes, names: configurations.map((configuration) => configuration.name), proxies: proxies.map((configuration) => configuration.name),
    measured, peakMB, manyConnections, soak: soakResult, shutdown, polling, wait, decisions
  }, machineLine)
}

/** What the proxy's audit lines say of the answers that were not 2xx: how many of each status and code. */
async function refusalsIn (log: string, count: number): Promise<string> {
  const codes = new Map<string, number>()
  for (const line of (await readFile(log, 'utf8')).split('\n')) {
    if (!line.includes('"stage":"completed"')) continue
    const { audit } = JSON.parse(line) as { audit: { status: number, errorCode: string | null } }
    if (audit.status < 300) continue
    const code = `${audit.status} ${audit.errorCode ?? ''}`.trim()
    codes.set(code, (codes.get(code) ?? 0) + 1)
  }
  return `${count} not 2xx: ${[...codes].map(([code, n]) => `${code} × ${n}`).join(', ')}`
}

