// `npm run bench:allocations`: how many bytes of JavaScript objects the proxy's main thread
// allocates per GET and per run, estimated by V8's sampling heap profiler over a saturated window
// (objects already collected included), and which functions allocate most. Unlike CPU time, the
// figure hardly moves with what else the machine is doing: it is the one to compare two commits
// by on a busy machine. Garbage is CPU twice: made, then collected.
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { cleanUp, onCleanup } from './children.js'
import { saturate } from './load.js'
import * as targets from './targets.js'

const SAMPLER = fileURLToPath(new URL('heap-sampler.mjs', import.meta.url))
const CONNECTIONS = 8
const WARM_UP_SECONDS = 2
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4)

interface ProfileNode { callFrame: { functionName: string, url: string, lineNumber: number }, selfSize: number, children: ProfileNode[] }

/** Waits (up to 10 s) for the proxy's log to say `line`. */
async function logged (log: string, line: string): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    if ((await readFile(log, 'utf8')).includes(line)) return
    await sleep(50)
  }
  throw new Error(`the proxy did not log "${line}" (see ${log})`)
}

/** Bytes per request, and the functions that allocated most of them (self, in bytes per request). */
async function allocations (bench: targets.Bench, scenario: 'get' | 'run'): Promise<{ perRequest: number, top: Array<[string, number]> }> {
  const profile = join(bench.directory, `${scenario}.heapprofile`)
  const configuration = await targets.proxy(bench, scenario, { ...targets.sqliteStore(bench), BENCH_HEAP_PROFILE: profile }, [...targets.PROXY_NODE_FLAGS, '--import', SAMPLER])
  try {
    const [pid] = configuration.pids as [number]
    const log = configuration.log as string
    await saturate(configuration.url, configuration[scenario], CONNECTIONS, WARM_UP_SECONDS)
    process.kill(pid, 'SIGUSR2')
    await logged(log, 'heap sampling started')
    const { requests } = await saturate(configuration.url, configuration[scenario], CONNECTIONS, SECONDS)
    process.kill(pid, 'SIGUSR2')
    await logged(log, 'heap sampling written')
    const bySite = new Map<string, number>()
    let total = 0
    const walk = (node: ProfileNode): void => {
      const { functionName, url, lineNumber } = node.callFrame
      const site = `${functionName === '' ? '(anonymous)' : functionName} ${url.replace(/^.*\/(node_modules|dist)\//, '')}:${lineNumber + 1}`
      bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize)
      total += node.selfSize
      for (const child of node.children) walk(child)
    }
    walk((JSON.parse(await readFile(profile, 'utf8')) as { head: ProfileNode }).head)
    const top = [...bySite].sort((a, b) => b[1] - a[1]).slice(0, 12).map(([site, bytes]): [string, number] => [site, bytes / requests])
    return { perRequest: total / requests, top }
  } finally {
    await configuration.stop()
    await targets.upstreamCalls(bench)
  }
}

async function main (): Promise<void> {
  const directory = await mkdtemp(join(tmpdir(), 'codeocean-proxy-allocations-'))
  onCleanup(async () => { await rm(directory, { recursive: true, force: true }) })
  const bench = await targets.startSimulator(directory)
  const lines = ['| scenario | KB allocated per request |', '| --- | ---: |']
  const details: string[] = []
  for (const scenario of ['get', 'run'] as const) {
    const { perRequest, top } = await allocations(bench, scenario)
    lines.push(`| ${scenario === 'get' ? 'GET computation' : 'run (POST /computations)'} | ${(perRequest / 1000).toFixed(1)} |`)
    details.push(`\nMost allocated, ${scenario} (bytes per request, the function's own objects):\n\n${top.map(([site, bytes]) => `- ${bytes.toFixed(0)} ${site}`).join('\n')}`)
  }
  process.stdout.write(`Proxy with its store in a SQLite file, ${CONNECTIONS} connections at saturation for ${SECONDS} s after ${WARM_UP_SECONDS} s of warm-up; V8's sampling heap profiler, one sample per 4 KiB on average.\n\n${lines.join('\n')}\n${details.join('\n')}\n`)
}

try {
  await main()
} finally {
  await cleanUp()
}
