// The performance decisions that a setting or a first use can switch, each measured with and
// without, in the same run (A/B): service keys read at most once per SERVICE_KEY_CACHE_MS, SDK
// polls shared (POLL_COALESCE), Swagger UI loaded on the first visit to /docs, and start-up's
// memory returned before listening (the start flags' --expose-gc). The others
// (one record and one log line per read, owners from memory, commits in groups, drivers loaded
// when configured) have no switch: docs/benchmark.md compares them across commits.
import { Agent } from 'undici'
import { stopChild } from './children.js'
import { memoryMB } from './proc.js'
import { spread } from './report.js'
import * as targets from './targets.js'

/** One line of the A/B table: what was switched, what was measured, with it (the default) and without. */
export interface Decision {
  decision: string
  measure: string
  with: string
  without: string
}

export interface DecisionSettings {
  rounds: number
  seconds: number
  connections: number
}

/** What the official Python SDK sends on every request. */
const SDK_HEADERS = { ...targets.GATEWAY_CALLER, 'min-server-version': '4.6.0' }
const SDK_POLLERS = 50
/** How late Code Ocean answers the SDK polls: as a remote service does, so that all 50 are in flight together. */
const SDK_POLL_UPSTREAM_MS = 100

export interface Decisions {
  rows: Decision[]
  /** The proxy's idle RSS on SQLite, started as `npm start` starts it, before anyone visits /docs. */
  idleMB: number
  /** Upstream calls for SDK_POLLERS SDK polls sent at once, shared as by default. */
  sdkPollCalls: number
  sdkPollers: number
}

export async function decisionsBenchmark (bench: targets.Bench, settings: DecisionSettings): Promise<Decisions> {
  const keys = await serviceKeyCache(bench, settings)
  const polls = await sdkPolls(bench)
  const swaggerUi = await swaggerUiOnFirstUse(bench)
  const startUp = await startUpMemoryReturned(bench)
  return { rows: [keys, polls.row, swaggerUi.row, startUp], idleMB: swaggerUi.idleMB, sdkPollCalls: polls.shared, sdkPollers: SDK_POLLERS }
}

/** CPU per GET on SQLite with SERVICE_KEY_CACHE_MS at its default and at 0, in alternating rounds after a warm-up. */
async function serviceKeyCache (bench: targets.Bench, settings: DecisionSettings): Promise<Decision> {
  const cached = await targets.proxy(bench, 'cached', targets.sqliteStore(bench))
  const uncached = await targets.proxy(bench, 'uncached', { ...targets.sqliteStore(bench), SERVICE_KEY_CACHE_MS: '0' })
  const cpu = new Map<targets.Configuration, number[]>([[cached, []], [uncached, []]])
  try {
    for (let round = 0; round <= settings.rounds; round++) {
      for (const configuration of round % 2 === 0 ? [cached, uncached] : [uncached, cached]) {
        const { cpuUs } = await targets.cpuPerRequest(bench, configuration, configuration.get, settings.connections, settings.seconds)
        if (round > 0) cpu.get(configuration)?.push(cpuUs)
      }
    }
  } finally {
    await cached.stop()
    await uncached.stop()
  }
  return {
    decision: 'Service keys read from the store at most once a second (`SERVICE_KEY_CACHE_MS=1000`, against `0`)',
    measure: 'CPU µs per GET, SQLite file, saturation',
    with: spread(cpu.get(cached) as number[]),
    without: spread(cpu.get(uncached) as number[])
  }
}

/**
 * Upstream calls for SDK_POLLERS polls of one running computation sent at once, as the SDK sends
 * them, shared and not: over connections opened beforehand, Code Ocean answering
 * SDK_POLL_UPSTREAM_MS late.
 */
async function sdkPolls (bench: targets.Bench): Promise<{ row: Decision, shared: number }> {
  const calls: Record<string, number> = {}
  for (const coalesce of ['true', 'false']) {
    const proxy = await targets.startProxy(bench, { POLL_COALESCE: coalesce })
    const agent = new Agent({ connections: SDK_POLLERS })
    try {
      const id = await targets.seedComputation(proxy.url, targets.GATEWAY_CALLER)
      await Promise.all(Array.from({ length: SDK_POLLERS }, async () => { await (await agent.request({ origin: proxy.url, path: '/livez', method: 'GET' })).body.dump() }))
      await targets.slowUpstream(bench, SDK_POLL_UPSTREAM_MS)
      await targets.upstreamCalls(bench)
      const statuses = await Promise.all(Array.from({ length: SDK_POLLERS }, async () => {
        const response = await agent.request({ origin: proxy.url, path: `/api/v1/computations/${id}`, method: 'GET', headers: SDK_HEADERS })
        await response.body.dump()
        return response.statusCode
      }))
      if (statuses.some((status) => status !== 200)) throw new Error(`SDK polls: ${statuses.filter((status) => status !== 200).join(', ')}`)
      calls[coalesce] = await targets.upstreamCalls(bench)
    } finally {
      await targets.slowUpstream(bench, undefined)
      await agent.close()
      await stopChild(proxy.child.process)
    }
  }
  const row = {
    decision: 'SDK polls shared, `Min-Server-Version` part of the key (`POLL_COALESCE=true`, against `false`)',
    measure: `upstream calls for ${SDK_POLLERS} SDK polls of one running computation sent at once (Code Ocean answering ${SDK_POLL_UPSTREAM_MS} ms late)`,
    with: String(calls.true),
    without: String(calls.false)
  }
  return { row, shared: calls.true as number }
}

/** RSS once idle, SQLite file, 3 s after it listens. */
async function idleRss (proxy: targets.Proxy): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 3000))
  return await memoryMB([proxy.child.pid], 'VmRSS')
}

/** Idle RSS of a proxy started with the start flags, and of one started without --expose-gc (so it keeps what start-up grew). */
async function startUpMemoryReturned (bench: targets.Bench): Promise<Decision> {
  const idle = async (flags: readonly string[]): Promise<number> => {
    const proxy = await targets.startProxy(bench, targets.sqliteStore(bench), flags)
    try {
      return await idleRss(proxy)
    } finally {
      await stopChild(proxy.child.process)
    }
  }
  return {
    decision: 'Start-up\'s memory returned before listening (`--expose-gc` in the start flags, against without)',
    measure: 'idle RSS MB, SQLite file (a fresh process each, 3 s after it listens)',
    // Both ways whatever BENCH_PROXY_NODE_FLAGS says.
    with: (await idle([...targets.PROXY_NODE_FLAGS.filter((flag) => flag !== '--expose-gc'), '--expose-gc'])).toFixed(1),
    without: (await idle(targets.PROXY_NODE_FLAGS.filter((flag) => flag !== '--expose-gc'))).toFixed(1)
  }
}

/** Idle RSS of one proxy before anyone visits /docs, and after a visit loaded Swagger UI. */
async function swaggerUiOnFirstUse (bench: targets.Bench): Promise<{ row: Decision, idleMB: number }> {
  const proxy = await targets.startProxy(bench, targets.sqliteStore(bench))
  try {
    const before = await idleRss(proxy)
    const visit = await fetch(`${proxy.url}/docs/json`, { signal: AbortSignal.timeout(10_000) })
    if (!visit.ok) throw new Error(`/docs/json: ${visit.status}`)
    await visit.arrayBuffer()
    const after = await idleRss(proxy)
    const row = {
      decision: 'Swagger UI loaded on the first visit to `/docs`, not at start',
      measure: 'idle RSS MB, SQLite file (one process: before any visit, then after one)',
      with: before.toFixed(1),
      without: after.toFixed(1)
    }
    return { row, idleMB: before }
  } finally {
    await stopChild(proxy.child.process)
  }
}
