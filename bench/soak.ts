// The soak: the proxy (SQLite file) under a steady fixed rate, its resident memory sampled every
// few seconds; the least-squares slope after a warm-up says whether it keeps growing.
import { fixedRate } from './load.js'
import { memoryMB } from './proc.js'
import { slope } from './stats.js'
import { basic, getSpec, runSpec, seedComputation, serviceKey, sqliteStore, startProxy, upstreamCalls, type Bench } from './targets.js'
import { stopChild } from './children.js'

export interface Soak {
  seconds: number
  rate: number
  warmUpSeconds: number
  samples: number
  startMB: number
  endMB: number
  maxMB: number
  slopeMBPerMinute: number
  requests: number
  /** Errors and non-2xx answers. */
  failed: number
  /** Not sent because too many were waiting: the proxy (or the machine) fell behind the rate. */
  behind: number
}

/** Nine reads to one run, `rate` a second for `seconds`; the first fifth (at most 60 s) is warm-up. */
export async function soak (bench: Bench, seconds: number, rate: number): Promise<Soak> {
  const store = sqliteStore(bench)
  // The proxy makes its database; the key is made in it afterwards, as an operator would.
  const proxy = await startProxy(bench, store)
  const headers = { authorization: basic(await serviceKey(store)) }
  try {
    const id = await seedComputation(proxy.url, headers)
    const get = getSpec(id, headers)
    const run = runSpec(headers)
    const warmUpSeconds = Math.min(60, seconds / 5)
    const every = Math.max(1, Math.min(5, seconds / 60))
    const times: number[] = []
    const rss: number[] = []
    const started = Date.now()
    let sampling = true
    const sampler = (async () => {
      while (sampling) {
        await new Promise((resolve) => setTimeout(resolve, every * 1000))
        if (!sampling) break
        const at = (Date.now() - started) / 1000
        if (at >= warmUpSeconds) {
          times.push(at / 60)
          rss.push(await memoryMB([proxy.child.pid], 'VmRSS'))
        }
        await upstreamCalls(bench) // keeps the simulator's own request log from growing
      }
    })()
    const load = await fixedRate(proxy.url, { rate, seconds, request: (index) => index % 10 === 9 ? run : get })
    sampling = false
    await sampler
    return {
      seconds, rate, warmUpSeconds, samples: rss.length,
      startMB: rss[0] ?? Number.NaN, endMB: rss.at(-1) ?? Number.NaN, maxMB: Math.max(...rss),
      slopeMBPerMinute: slope(times, rss),
      requests: load.sent, failed: load.errors + load.non2xx, behind: load.skipped
    }
  } finally {
    await stopChild(proxy.child.process)
  }
}
