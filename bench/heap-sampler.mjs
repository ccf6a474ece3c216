// Loaded into the proxy by `npm run bench:allocations` (--import): SIGUSR2 starts V8's sampling
// heap profiler, counting objects already collected too; a second SIGUSR2 stops it and writes
// the profile to BENCH_HEAP_PROFILE. Says each step on stderr, which the benchmark reads.
import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector'
import { isMainThread } from 'node:worker_threads'

function sampleOnSignal () {
  const session = new Session()
  session.connect()
  const post = (method, params) => new Promise((resolve, reject) => {
    session.post(method, params, (error, result) => { if (error) reject(error); else resolve(result) })
  })
  let sampling = false
  const toggle = async () => {
    if (!sampling) {
      sampling = true
      await post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true })
      process.stderr.write('heap sampling started\n')
      return
    }
    const { profile } = await post('HeapProfiler.stopSampling')
    writeFileSync(process.env.BENCH_HEAP_PROFILE, JSON.stringify(profile))
    process.stderr.write('heap sampling written\n')
  }
  process.on('SIGUSR2', () => {
    toggle().catch((error) => { process.stderr.write(`heap sampling failed: ${String(error)}\n`) })
  })
}

// The proxy passes its --import preloads on to the SQLite worker: only the main thread samples.
if (isMainThread) sampleOnSignal()
