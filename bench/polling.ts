// What shared polls and the wait endpoint save: many clients polling one running computation, and
// many callers waiting on one with the wait endpoint (store in SQLite :memory:, gateway headers).
import autocannon from 'autocannon'
import { Agent } from 'undici'
import { stopChild } from './children.js'
import { cpuMicros, memoryMB } from './proc.js'
import { GATEWAY_CALLER, seedComputation, startProxy, upstreamCalls, type Bench } from './targets.js'

/** `pollers` clients polling one running computation as fast as they can, with and without shared polls. */
export async function pollingBenchmark (bench: Bench, pollers: number, seconds: number): Promise<string[]> {
  const lines: string[] = []
  for (const coalesce of ['true', 'false']) {
    const proxy = await startProxy(bench, { POLL_COALESCE: coalesce })
    try {
      const id = await seedComputation(proxy.url, GATEWAY_CALLER)
      await autocannon({ url: `${proxy.url}/api/v1/computations/${id}`, connections: pollers, duration: 1, headers: GATEWAY_CALLER })
      await upstreamCalls(bench)
      const result = await autocannon({ url: `${proxy.url}/api/v1/computations/${id}`, connections: pollers, duration: seconds, headers: GATEWAY_CALLER, timeout: 10 })
      const upstream = await upstreamCalls(bench)
      if (result.non2xx > 0 || result.errors > 0) throw new Error(`polling: ${result.non2xx} non-2xx, ${result.errors} errors`)
      lines.push(`| ${coalesce === 'true' ? 'shared (default)' : 'not shared (POLL_COALESCE=false)'} | ${pollers} | ${Math.round(result.requests.total / seconds)} | ${Math.round(upstream / seconds)} | ${(result.requests.total / Math.max(1, upstream)).toFixed(1)} |`)
    } finally {
      await stopChild(proxy.child.process)
    }
  }
  return lines
}

/** `waiters` callers waiting on one running computation: memory and CPU per waiter, and the polls they cost. */
export async function waitBenchmark (bench: Bench, waiters: number, seconds: number): Promise<string> {
  const proxy = await startProxy(bench, {})
  const pid = proxy.child.pid
  const agent = new Agent({ connections: waiters, headersTimeout: (seconds * 3 + 30) * 1000 })
  try {
    const id = await seedComputation(proxy.url, GATEWAY_CALLER)
    await new Promise((resolve) => setTimeout(resolve, 1000))
    const rssBefore = await memoryMB([pid], 'VmRSS')
    const waits = Array.from({ length: waiters }, async () =>
      await agent.request({ origin: proxy.url, path: `/computations/${id}/wait?timeout=${seconds * 3}`, method: 'GET', headers: GATEWAY_CALLER })
        .then(async (response) => { await response.body.dump(); return response.statusCode }, () => 0))
    // Let every waiter arrive, then measure a quiet stretch of waiting.
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000 / 2))
    await upstreamCalls(bench)
    const cpuBefore = await cpuMicros([pid])
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000))
    const cpuUs = (await cpuMicros([pid])) - cpuBefore
    const polls = await upstreamCalls(bench)
    const rssWaiting = await memoryMB([pid], 'VmRSS')
    const statuses = await Promise.all(waits)
    const answered = statuses.filter((status) => status === 202).length
    return `| ${waiters} | ${answered} | ${((rssWaiting - rssBefore) * 1e6 / 1024 / waiters).toFixed(1)} KiB | ${(cpuUs / waiters / seconds).toFixed(1)} µs | ${polls} in ${seconds} s |`
  } finally {
    await agent.close()
    await stopChild(proxy.child.process)
  }
}
