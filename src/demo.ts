// `npm run demo`: the whole thing on one machine with no account and no configuration: the
// simulator plays Code Ocean, the proxy runs in front of it with embedded defaults, and a
// service key is made for the person trying it. The demo keeps its data in a folder of its own
// (./data/demo, or --data-dir), never in a configured proxy's store, and its keys are demo keys:
// a proxy started with any configuration refuses them, even from the same database.
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { buildApp } from './app.js'
import { loadConfig } from './config.js'
import { ConfigError } from './errors.js'
import { createServiceKey } from './identity/service-keys.js'
import { createLogger } from './logger.js'
import { SIMULATOR_CAPSULES, startSimulator } from './simulator/index.js'
import { apiAddress, checkCanListen, listenProblem, startUpProblems } from './start-up-problems.js'
import { openStdoutLog } from './stdout-log.js'
import { openStore } from './store/open.js'
import { strayVariableWarnings } from './stray-variables.js'

const USAGE = 'usage: npm run demo [-- --data-dir DIR]   (default ./data/demo)'

const log = openStdoutLog()

async function exit (code: number): Promise<never> {
  await log.drain(1_000)
  process.exit(code)
}

async function refuse (problems: string[], code = 1): Promise<never> {
  for (const problem of problems) process.stderr.write(`codeocean-proxy demo: ${problem}\n`)
  return await exit(code)
}

let dataDir: string
try {
  dataDir = parseArgs({ options: { 'data-dir': { type: 'string', default: './data/demo' } } }).values['data-dir']
} catch (error) {
  dataDir = await refuse([(error as Error).message, USAGE], 2)
}
for (const warning of strayVariableWarnings(process.env)) process.stderr.write(`codeocean-proxy demo: warning: ${warning}\n`)

// The simulator's token exists only inside this process, as a real token would inside the proxy.
const token = `cop_demo${randomBytes(12).toString('hex')}`
const simulator = await startSimulator({ token, timings: { initializingMs: 2_000, runningMs: 10_000, finalizingMs: 2_000 } })

/** Stops the start with one line per problem, after closing what was opened; a bug keeps its stack. */
async function cannotStart (error: unknown): Promise<never> {
  const problems = startUpProblems(error, '--data-dir')
  if (problems === undefined) throw error
  await simulator.close()
  return await refuse(problems)
}

// Timeouts, limits and the like come from the environment as for the server; where the data goes
// does not: a DATABASE_URL or an audit key set for a real proxy must not receive the demo's.
const auditPath = join(dataDir, 'codeocean-proxy.sqlite')
const config = await (async () => {
  try {
    const settings = loadConfig({
      ...process.env,
      CODEOCEAN_DOMAIN: simulator.url,
      CODEOCEAN_TOKEN: token,
      CODEOCEAN_TOKEN_FILE: '',
      HOST: process.env.HOST ?? '127.0.0.1',
      PORT: process.env.PORT ?? '8080',
      DATABASE_URL: '',
      AUDIT_DB_PATH: auditPath,
      AUDIT_HMAC_KEY: '',
      AUDIT_HMAC_KEY_FILE: ''
    })
    // Tried before anything is made: a port in use leaves no database and no key behind.
    await checkCanListen(apiAddress(settings))
    return settings
  } catch (error) {
    return await cannotStart(error)
  }
})()

const store = await openStore(config.store).catch(async (error: unknown) => await cannotStart(error))
const app = await buildApp({ config, logger: createLogger({ level: config.logLevel, destination: log.destination }), store, serviceKeyRealm: 'demo' })
  .catch(async (error: unknown) => {
    await store.close()
    return await cannotStart(error)
  })
const address = await app.listen({ host: config.host, port: config.port }).catch(async (error: unknown) => {
  await app.close()
  await store.close()
  return await cannotStart(new ConfigError([listenProblem(error as NodeJS.ErrnoException, apiAddress(config))]))
})
// Made once everything else has worked. A day is long enough to try it;
// `AUDIT_DB_PATH=<the demo's database> npm run keys -- list` shows every demo key made so far.
const { key } = await createServiceKey(store, { subject: 'demo-user', groups: ['demo'], description: 'made by npm run demo', expiresAt: new Date(Date.now() + 86_400_000), realm: 'demo' })

process.stderr.write(`
codeocean-proxy demo
  proxy      ${address}   (API docs: ${address}/docs)
  Code Ocean simulated at ${simulator.url}; only the proxy holds its token.

Your service key (valid for a day, and only with this demo; shown only now, the proxy keeps only its hash):
  export KEY=${key}

Run a capsule (curl -u "$KEY:" sends it as Basic, exactly where the Code Ocean SDK puts its token):
  curl -s -u "$KEY:" -X POST ${address}/api/v1/computations -H 'Content-Type: application/json' -d '{"capsule_id": "${SIMULATOR_CAPSULES.analysis}"}'

Then follow the README's walkthrough: poll it, list its results, get a file's URLs. Ctrl-C stops.
Every call is audited in ${auditPath}; check the trail with: AUDIT_DB_PATH=${auditPath} npm run audit:verify

`)

let stopping = false
const stop = (): void => {
  if (stopping) {
    void exit(1)
    return
  }
  stopping = true
  void app.close().then(async () => { await store.close(); await simulator.close() }).then(async () => await exit(0))
}
process.on('SIGINT', stop)
process.on('SIGTERM', stop)
