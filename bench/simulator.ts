// Runs the simulator in a process of its own for the benchmark; prints its URL on stdout. Asked
// over IPC ('take'), it answers how many requests it has seen since the last ask, and forgets them.
import { startSimulator } from '../src/simulator/index.js'

const simulator = await startSimulator({ token: String(process.env.BENCH_TOKEN), timings: { initializingMs: 60_000, runningMs: 60_000, finalizingMs: 60_000 } })
process.stdout.write(`${simulator.url}\n`)
process.on('message', (message) => {
  if (message !== 'take') return
  const seen = simulator.requests.length
  simulator.clearRequests()
  process.send?.({ seen })
})
process.on('SIGTERM', () => { void simulator.close().then(() => process.exit(0)) })
