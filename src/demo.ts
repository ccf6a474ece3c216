// `npm run demo`: the whole thing on one machine with no account and no configuration: the
// simulator plays Code Ocean, the proxy runs in front of it with embedded defaults, and a
// service key is made for the person trying it.
import { randomBytes } from 'node:crypto'
import { buildApp } from './app.js'
import { loadConfig } from './config.js'
import { createServiceKey } from './identity/service-keys.js'
import { createLogger } from './logger.js'
import { openStore } from './store/open.js'
import { SIMULATOR_CAPSULES, startSimulator } from './simulator/index.js'

const port = process.env.PORT ?? '8080'
const host = process.env.HOST ?? '127.0.0.1'
const auditPath = process.env.DATABASE_URL === undefined ? process.env.AUDIT_DB_PATH ?? './data/codeocean-proxy.sqlite' : undefined

// The simulator's token exists only inside this process, as a real token would inside the proxy.
const token = `cop_demo${randomBytes(12).toString('hex')}`
const simulator = await startSimulator({ token, timings: { initializingMs: 2_000, runningMs: 10_000, finalizingMs: 2_000 } })
// Everything else (the audit store, timeouts, …) comes from the environment as for the server.
const config = loadConfig({ ...process.env, CODEOCEAN_DOMAIN: simulator.url, CODEOCEAN_TOKEN: token, CODEOCEAN_TOKEN_FILE: '', HOST: host, PORT: port })
const store = await openStore(config.store)
// A day is long enough to try it; `npm run keys -- list` shows every demo key made so far.
const { key } = await createServiceKey(store, { subject: 'demo-user', groups: ['demo'], description: 'made by npm run demo', expiresAt: new Date(Date.now() + 86_400_000) })
const app = await buildApp({ config, logger: createLogger({ level: config.logLevel }), store })
const address = await app.listen({ host: config.host, port: config.port })

process.stderr.write(`
codeocean-proxy demo
  proxy      ${address}   (API docs: ${address}/docs)
  Code Ocean simulated at ${simulator.url}; only the proxy holds its token.

Your service key (valid for a day; shown only now, the proxy keeps only its hash):
  export KEY=${key}

Run a capsule (curl -u "$KEY:" sends it as Basic, exactly where the Code Ocean SDK puts its token):
  curl -s -u "$KEY:" -X POST ${address}/api/v1/computations -H 'Content-Type: application/json' -d '{"capsule_id": "${SIMULATOR_CAPSULES.analysis}"}'

Then follow the README: poll it, list its results, get a file's URLs. Ctrl-C stops.
Every call is audited${auditPath === undefined ? ' in PostgreSQL' : ` in ${auditPath}`}; check the trail with: npm run audit:verify

`)

let stopping = false
const stop = (): void => {
  if (stopping) process.exit(1)
  stopping = true
  void app.close().then(async () => { await store.close(); await simulator.close() }).then(() => process.exit(0))
}
process.on('SIGINT', stop)
process.on('SIGTERM', stop)
