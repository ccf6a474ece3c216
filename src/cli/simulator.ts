#!/usr/bin/env node
// `codeocean-proxy-simulator`: the fake Code Ocean as a process of its own, for the compose file's
// `simulator` profile and for trying the proxy without an account. Every run is simulated, and
// nothing it holds outlives the process.
import { ConfigError } from '../errors.js'
import { SIMULATOR_CAPSULES, SIMULATOR_PIPELINES, startSimulator, type Simulator } from '../simulator/index.js'
import { standaloneSimulatorOptions } from '../simulator/standalone.js'

let simulator: Simulator
try {
  const options = standaloneSimulatorOptions(process.env)
  simulator = await startSimulator(options)
  process.stderr.write([
    `codeocean-proxy-simulator: a simulated Code Ocean listening on ${simulator.url}${options.publicUrl === undefined ? '' : ` (result URLs on ${options.publicUrl})`}`,
    `  capsules: ${Object.entries(SIMULATOR_CAPSULES).map(([name, id]) => `${name} ${id}`).join(', ')}`,
    `  pipelines: ${Object.entries(SIMULATOR_PIPELINES).map(([name, id]) => `${name} ${id}`).join(', ')}`,
    ''
  ].join('\n'))
} catch (error) {
  // A bad variable, a bad public URL or a port in use: said in one line each, and the process stops.
  const problems = error instanceof ConfigError ? error.problems : [(error as Error).message]
  for (const problem of problems) process.stderr.write(`codeocean-proxy-simulator: ${problem}\n`)
  process.exit(1)
}

const stop = (): void => {
  void simulator.close().then(() => process.exit(0))
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
