// What stops the start, worded as one line each: an address that cannot be listened on (found
// before anything is made), the configuration, a store that cannot be opened.
import { once } from 'node:events'
import { createServer, type AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { ConfigError } from '../src/errors.js'
import { apiAddress, checkCanListen, listenProblem, startUpProblems, storeSetting } from '../src/start-up-problems.js'
import { StoreError } from '../src/store/store.js'

const API = { hostVariable: 'HOST', portVariable: 'PORT' }

/** A port something listens on, for the test's length. */
async function takenPort (t: Test): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => server.close())
  return (server.address() as AddressInfo).port
}

t.test('a free address is let go of at once, and port 0 is not tried', async (t) => {
  const port = await takenPort(t)
  await t.rejects(checkCanListen({ ...API, host: '127.0.0.1', port }), ConfigError)
  await checkCanListen({ ...API, host: '127.0.0.1', port: 0 })
  const free = createServer().listen(0, '127.0.0.1')
  await once(free, 'listening')
  const freePort = (free.address() as AddressInfo).port
  await new Promise((resolve) => free.close(resolve))
  await checkCanListen({ ...API, host: '127.0.0.1', port: freePort })
  const again = createServer().listen(freePort, '127.0.0.1')
  await once(again, 'listening')
  await new Promise((resolve) => again.close(resolve))
  t.pass('the port was free again after the check')
})

t.test('a port in use is one line naming the variable and what to do', async (t) => {
  const port = await takenPort(t)
  await t.rejects(checkCanListen({ ...API, host: '127.0.0.1', port }), new ConfigError([
    `PORT ${port} is already in use on 127.0.0.1: stop what listens there, or set PORT to a free port`
  ]))
  await t.rejects(checkCanListen({ host: '127.0.0.1', port, hostVariable: 'METRICS_HOST', portVariable: 'METRICS_PORT' }), new ConfigError([
    `METRICS_PORT ${port} is already in use on 127.0.0.1: stop what listens there, or set METRICS_PORT to a free port`
  ]))
})

t.test('an address that is not this machine\'s names HOST', async (t) => {
  // 192.0.2.0/24 is reserved for documentation: no machine has it.
  await t.rejects(checkCanListen({ ...API, host: '192.0.2.1', port: 8080 }), new ConfigError([
    'HOST 192.0.2.1 is not an address of this machine: set HOST to one of its addresses, or 0.0.0.0 for all of them'
  ]))
})

t.test('a privileged port, and any other failure to listen, are one line each', async (t) => {
  const address = { ...API, host: '127.0.0.1', port: 80 }
  // Root may listen on port 80, so these are worded from the errors Node gives.
  t.equal(listenProblem(Object.assign(new Error('listen EACCES'), { code: 'EACCES' }), address),
    'PORT 80 on 127.0.0.1 needs privileges this process does not have: set PORT to a port above 1023')
  t.equal(listenProblem(Object.assign(new Error('listen EINVAL'), { code: 'EINVAL' }), address),
    'cannot listen on 127.0.0.1 port 80 (EINVAL): check HOST and PORT')
  t.same(apiAddress({ host: '::1', port: 9090 }), { host: '::1', port: 9090, hostVariable: 'HOST', portVariable: 'PORT' })
})

t.test('configuration problems are passed on; a store that cannot be opened names its setting; anything else is not the operator\'s', async (t) => {
  t.same(startUpProblems(new ConfigError(['PORT is wrong', 'HOST is wrong']), 'AUDIT_DB_PATH'), ['PORT is wrong', 'HOST is wrong'])
  const refused = new StoreError('PostgreSQL store: migrate failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) })
  t.same(startUpProblems(refused, storeSetting({ kind: 'postgres', url: 'postgres://keeper:hunter2@db/proxy' })), ['PostgreSQL store: migrate failed (ECONNREFUSED): check DATABASE_URL'])
  const failed = new StoreError('SQLite store: open failed', { cause: new Error('gone') })
  t.same(startUpProblems(failed, storeSetting({ kind: 'sqlite', path: './data/proxy.sqlite' })), ['SQLite store: open failed: check AUDIT_DB_PATH'])
  t.equal(startUpProblems(new TypeError('a bug'), 'AUDIT_DB_PATH'), undefined)
})
