// Starts the simulator on an ephemeral loopback port for one test and closes it afterwards.
import type { Test } from 'tap'
import { startSimulator, type Simulator, type SimulatorOptions } from '../../src/simulator/index.js'
import { TEST_TOKEN } from './secrets.js'

export async function startTestSimulator (t: Test, options: Partial<SimulatorOptions> = {}): Promise<Simulator> {
  const simulator = await startSimulator({
    token: TEST_TOKEN,
    timings: { initializingMs: 50, runningMs: 100, finalizingMs: 50 },
    ...options
  })
  t.teardown(() => simulator.close())
  return simulator
}
