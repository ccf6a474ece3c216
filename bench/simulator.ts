// Runs the simulator in a process of its own for the benchmark; prints its URL on stdout. Over IPC
// it answers 'take' with how many requests it has seen since the last ask (and forgets them), and
// slows matching requests down on { delayMs, path } until { clearFaults: true }.
import { startSimulator } from '../src/simulator/index.js'

type Message = 'take' | { delayMs: number, path: string } | { clearFaults: true }

const simulator = await startSimulator({ token: String(process.env.BENCH_TOKEN), timings: { initializingMs: 60_000, runningMs: 60_000, finalizingMs: 60_000 } })
process.stdout.write(`${simulator.url}\n`)
process.on('message', (message: Message) => {
  if (message === 'take') {
    const seen = simulator.requests.length
    simulator.clearRequests()
    process.send?.({ seen })
  } else if ('delayMs' in message) {
    simulator.inject({ delayMs: message.delayMs, path: new RegExp(message.path) })
    process.send?.({ ok: true })
  } else {
    simulator.clearFaults()
    process.send?.({ ok: true })
  }
})
// Without its benchmark (killed, or gone without cleaning up) the simulator has no reason to live.
process.on('disconnect', () => process.exit(0))
process.on('SIGTERM', () => { void simulator.close().then(() => process.exit(0)) })
