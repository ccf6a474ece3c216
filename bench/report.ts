// bench/results.md: the machine, the method, and one table per measure, each target stated with
// whether this run met it.
import { cpus, loadavg, release, totalmem } from 'node:os'
import { median, range } from './stats.js'
import type { Decisions } from './decisions.js'
import type { Shutdown } from './shutdown.js'
import type { Soak } from './soak.js'

export type Scenario = 'get' | 'run'
export const SCENARIOS: Record<Scenario, string> = { get: 'GET computation', run: 'run (POST /computations)' }

export interface Settings {
  seconds: number
  connections: number
  rounds: number
  rate: number
  rateSeconds: number
  rssConnections: number
  soakSeconds: number
  soakRate: number
  shutdownRate: number
  shutdownSeconds: number
  shutdownDelayMs: number
  pollers: number
  waiters: number
}

export interface Measured {
  /** Per round, after the discarded warm-up. */
  rps: number[]
  cpuUs: number[]
  p50: number[]
  p99: number[]
  addedP50: number[]
  addedP99: number[]
  /** Requests the fixed-rate load could not send because too many were waiting (target behind). */
  behind: number
  /** CPU µs/request over the bare reply-from forwarder's in the same round. */
  cpuRatio: number[]
}

export interface Results {
  settings: Settings
  nginx: string
  notes: string[]
  names: string[]
  proxies: string[]
  measured: Record<Scenario, Map<string, Measured>>
  peakMB: Map<string, number>
  manyConnections: Array<{ name: string, peakMB: number, rps: number, refused: string }>
  soak: Soak | undefined
  shutdown: Shutdown
  polling: string[]
  wait: string
  decisions: Decisions
}

const round = (value: number, digits = 0): string => Number.isFinite(value) ? value.toFixed(digits) : '–'
/** Median [min–max] of a figure over rounds; the figure alone for one round; – where any is missing. */
export function spread (values: number[], digits = 0): string {
  if (values.length === 0 || values.some((value) => !Number.isFinite(value))) return '–'
  const [low, high] = range(values)
  return values.length === 1 ? round(values[0] as number, digits) : `${round(median(values), digits)} [${round(low, digits)}–${round(high, digits)}]`
}
const verdict = (met: boolean): string => met ? '**met**' : '**not met**'
/**
 * An added p99 below minus the limit says the direct calls' own tail was the longer one (every
 * forwarded call makes a direct call): the difference measures the baseline's noise, not the
 * proxy, and is no verdict either way.
 */
const latencyVerdict = (addedP99: number, limit: number, met: boolean): string =>
  addedP99 < -limit ? '**not established** (the direct calls\' own p99 was the longer: this run cannot tell)' : verdict(met)

export function machine (nginx: string): string {
  const model = cpus()[0]?.model ?? 'unknown CPU'
  return `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC; ${cpus().length} × ${model}; ${round(totalmem() / 2 ** 30)} GiB RAM; Linux ${release()}; Node ${process.version}; nginx ${nginx}; load average ${loadavg().map((value) => value.toFixed(2)).join(' ')} at the start`
}

export function report (results: Results, machineLine: string): string {
  const { settings: s, measured } = results
  const saturation = ['| scenario | configuration | req/s | CPU µs/request | CPU × reply-from |', '| --- | --- | ---: | ---: | ---: |']
  const latency = ['| scenario | configuration | p50 ms | p99 ms | added p50 ms | added p99 ms |', '| --- | --- | ---: | ---: | ---: | ---: |']
  for (const scenario of ['get', 'run'] as const) {
    for (const name of results.names) {
      const m = measured[scenario].get(name)
      if (m === undefined) continue
      saturation.push(`| ${SCENARIOS[scenario]} | ${name} | ${spread(m.rps)} | ${spread(m.cpuUs)} | ${spread(m.cpuRatio, 2)} |`)
      const behind = m.behind > 0 ? ` (fell behind: ${m.behind} requests not sent)` : ''
      const direct = name.startsWith('direct')
      latency.push(`| ${SCENARIOS[scenario]} | ${name}${behind} | ${spread(m.p50, 2)} | ${spread(m.p99, 2)} | ${direct ? '–' : spread(m.addedP50, 2)} | ${direct ? '–' : spread(m.addedP99, 2)} |`)
    }
  }
  const memory = ['| configuration | load | peak RSS (VmHWM) MB |', '| --- | --- | ---: |']
  for (const name of results.names) {
    const peak = results.peakMB.get(name)
    if (peak !== undefined) memory.push(`| ${name} | the rows above (${s.connections} connections, ${s.rate} req/s) | ${round(peak)} |`)
  }
  for (const row of results.manyConnections) memory.push(`| ${row.name}, fresh process | ${s.rssConnections} connections for ${s.seconds} s (GET, ${round(row.rps)} req/s${row.refused === '' ? '' : `; ${row.refused}`}) | ${round(row.peakMB)} |`)

  const targets: string[] = []
  for (const name of results.proxies) {
    const ratio = measured.get.get(name)?.cpuRatio ?? []
    if (ratio.length > 0) targets.push(`- CPU per proxied GET ≤ 1.5 × the bare reply-from forwarder's, same run — ${name}: ${round(median(ratio), 2)} × — ${verdict(median(ratio) <= 1.5)}.`)
  }
  for (const name of results.proxies) {
    const m = measured.get.get(name)
    if (m === undefined || m.addedP99.length === 0) continue
    const atRate = s.rate === 1000 ? '' : ` (measured at ${s.rate} req/s, not 1,000: not a verdict on the target)`
    targets.push(`- p99 added latency ≤ 2 ms at 1,000 req/s (GET) — ${name}: ${round(median(m.addedP99), 2)} ms${atRate} — ${latencyVerdict(median(m.addedP99), 2, median(m.addedP99) <= 2 && m.behind === 0)}.`)
  }
  for (const name of results.proxies) {
    const ratio = measured.run.get(name)?.cpuRatio ?? []
    if (ratio.length > 0) targets.push(`- CPU per run ≤ 3 × the bare reply-from forwarder's, same run — ${name}: ${round(median(ratio), 2)} × — ${verdict(median(ratio) <= 3)}.`)
  }
  const sqliteRuns = measured.run.get(results.proxies[0] ?? '')
  if (sqliteRuns !== undefined && sqliteRuns.addedP99.length > 0) {
    const atRate = s.rate === 1000 ? '' : ` (measured at ${s.rate} req/s, not 1,000: not a verdict on the target)`
    targets.push(`- 1,000 runs/s sustained on SQLite with added p99 ≤ 10 ms — ${results.proxies[0] ?? ''}: ${round(median(sqliteRuns.addedP99), 2)} ms${sqliteRuns.behind > 0 ? `, fell behind by ${sqliteRuns.behind} requests` : ''}${atRate} — ${latencyVerdict(median(sqliteRuns.addedP99), 10, median(sqliteRuns.addedP99) <= 10 && sqliteRuns.behind === 0 && s.rate === 1000)}.`)
  }
  for (const row of results.manyConnections) targets.push(`- RSS ≤ 150 MB at 500 concurrent connections — ${row.name}: ${round(row.peakMB)} MB at ${s.rssConnections} — ${verdict(row.peakMB <= 150)}${s.rssConnections === 500 ? '' : ' (not at 500 connections)'}.`)
  const { decisions } = results
  targets.push(`- Idle RSS ≤ 90 MB — proxy, store in a SQLite file, started as \`npm start\` starts it: ${round(decisions.idleMB)} MB — ${verdict(decisions.idleMB <= 90)}.`)
  targets.push(`- ${decisions.sdkPollers} concurrent SDK-style polls (with \`Min-Server-Version\`) of one computation cost 1 upstream call — ${decisions.sdkPollCalls} — ${verdict(decisions.sdkPollCalls === 1 && decisions.sdkPollers === 50)}.`)
  const soak = results.soak
  if (soak !== undefined) targets.push(`- No growth across a 5-minute soak (read here as a slope ≤ 1 MB/min after warm-up) — ${round(soak.slopeMBPerMinute, 2)} MB/min over ${round(soak.seconds - soak.warmUpSeconds)} s — ${verdict(soak.slopeMBPerMinute <= 1)}${soak.seconds < 300 ? ` (a ${soak.seconds} s soak, not 5 minutes)` : ''}${soak.behind > 0 || soak.failed > 0 ? ` (the load was not held: ${soak.behind} requests not sent, ${soak.failed} failed; a weak reading)` : ''}.`)
  else targets.push('- No growth across a 5-minute soak — not measured in this run (BENCH_SOAK_SECONDS=0).')
  const sd = results.shutdown
  targets.push(`- Graceful shutdown under load: zero failed in-flight requests, every one audited — of ${sd.accepted} requests the proxy took in, ${sd.failed} failed and ${sd.audited} were answered and audited — ${verdict(sd.failed === 0 && sd.audited === sd.accepted)}.`)

  const soakSection = soak === undefined
    ? 'Not run (BENCH_SOAK_SECONDS=0).'
    : `The proxy (SQLite file, service key) at ${soak.rate} req/s (nine reads to one run) for ${soak.seconds} s; VmRSS sampled every few seconds after a warm-up of ${round(soak.warmUpSeconds)} s (V8 grows its heap lazily and settles late, so the first minutes are not a leak signal and the slope of a short soak is a weak one).\n\n| requests | failed | not sent (behind) | samples | RSS after warm-up MB | RSS at the end MB | max MB | slope MB/min |\n| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n| ${soak.requests} | ${soak.failed} | ${soak.behind} | ${soak.samples} | ${round(soak.startMB, 1)} | ${round(soak.endMB, 1)} | ${round(soak.maxMB, 1)} | ${round(soak.slopeMBPerMinute, 2)} |`
  const notes = results.notes.length === 0 ? '' : `\n\n${results.notes.map((note) => `Note: ${note}`).join('\n\n')}`

  return `# Benchmark results

${machineLine}.

Reproduce with \`npm run bench\` (\`BENCH_QUICK=1\` for a short smoke run; the knobs are at the top of bench/run.ts).

## Method

Everything on loopback, each configuration in a process of its own, the load generator in the
benchmark's process on the same machine. The simulator is the upstream all forwarders use;
"direct" calls it with the credential the proxy would inject. "Fastify answering locally" answers
the same paths with a fixed computation (the floor of any Fastify service); the bare forwarder is
Fastify and @fastify/reply-from setting the Authorization header and nothing else; nginx (one
worker, access log off, 64 kept-alive upstream connections) sets the same header. The proxy runs
its full pipeline from dist (caller identity by service key, read from the store at most once a
second, the default policy with its ownership check, the durable hash-chained audit trail and its
log lines) with its
store in a SQLite file or in PostgreSQL, its upstream and per-caller limits raised out of the way.
Each scenario is run on every configuration in ${s.rounds} round${s.rounds === 1 ? '' : 's'} after a discarded warm-up round,
the order rotated (and reversed every other round); tables give the median and [min–max] over rounds.
Saturation: autocannon, ${s.connections} connections for ${s.seconds} s. CPU: utime + stime of the
forwarding process(es) from /proc over the same window, divided by the requests answered (nginx:
master and worker). Fixed rate: our own open-loop load at ${s.rate} req/s for ${s.rateSeconds} s (after an uncounted
second at the same rate) over kept-alive connections, each request timed in µs from sending to the last byte (autocannon only
records whole milliseconds); added latency is the configuration's p50/p99 minus that of direct
calls in the same round. Peak RSS is VmHWM.

## Targets

${targets.join('\n')}

## Saturation

${saturation.join('\n')}

## Added latency at a fixed rate

${latency.join('\n')}

## Peak memory

${memory.join('\n')}

## Soak

${soakSection}

## Graceful shutdown under load

The proxy (SQLite file) receives reads and runs alternately at ${sd.rate} req/s for ${s.shutdownSeconds} s,
the simulator answering each ${sd.delayMs} ms late, and SIGTERM halfway. Each request carries its
own X-Request-Id; the proxy took it in if its store has a record with that id after exit (a run's
\`received\` one is written before it is forwarded) or the caller got an answer. A read leaves its
one record when it ends, so a read taken in and then lost without an answer or a record would
count as turned away: the run's records are the sharper test. Failed: taken in and not answered,
or answered 5xx. Audited: taken in, answered, and with a \`completed\` record. Turned away: never
taken in (the port closed, or a connection reset while closing).

| sent | open at SIGTERM (client side) | taken in | failed | audited | turned away | answered | completed audit log lines (seeding run included) | exit code | SIGTERM to exit |
| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
| ${sd.sent} | ${sd.openAtSigterm} | ${sd.accepted} | ${sd.failed} | ${sd.audited} | ${sd.turnedAway} | ${sd.answered} | ${sd.auditLogLines} | ${sd.exitCode ?? 'killed'} | ${round(sd.closeMs)} ms |

Outcomes: ${sd.errorCodes}.

## Polling one running computation

${s.pollers} clients polling one computation as fast as they can for ${s.seconds} s (store in SQLite :memory:, gateway headers).

| polls | clients | proxied req/s | upstream calls/s | callers per upstream call |
| --- | ---: | ---: | ---: | ---: |
${results.polling.join('\n')}

## The wait endpoint

${s.waiters} callers waiting on one running computation (polled every WAIT_POLL_INTERVAL_MS = 5 s by default), measured over ${s.seconds} s of waiting.

| waiters | answered 202 at their timeout | proxy memory per waiter | proxy CPU per waiter per second | upstream polls |
| ---: | ---: | ---: | ---: | ---: |
${results.wait}

## Decisions, with and without

The decisions a setting, a start flag or a first use switches, each measured both ways in this run: the CPU
figures over ${s.rounds} alternating round${s.rounds === 1 ? '' : 's'} after a warm-up (median [min–max]), ${s.connections} connections for ${s.seconds} s. The others
(one record and one log line per read, owners from memory, commits in groups, drivers loaded
when configured) have no switch: docs/benchmark.md compares them across commits.

| decision | measure | with (the default) | without |
| --- | --- | ---: | ---: |
${decisions.rows.map((row) => `| ${row.decision} | ${row.measure} | ${row.with} | ${row.without} |`).join('\n')}${notes}
`
}
