// TLS to Code Ocean is verified: an untrusted certificate is refused, and a private CA is
// trusted only when configured with CODEOCEAN_CA_FILE.
import { execFileSync } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { ConfigError } from '../src/errors.js'
import { buildTestApp } from './helpers/app.js'
import { createLogSink } from './helpers/log-sink.js'
import { TEST_TOKEN } from './helpers/secrets.js'

const ID = '5f5c3c4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f'

t.test('TLS verification', async (t) => {
  const directory = await mkdtemp(join(tmpdir(), 'codeocean-proxy-tls-'))
  t.teardown(() => rm(directory, { recursive: true, force: true }))
  const keyPath = join(directory, 'key.pem')
  const certPath = join(directory, 'cert.pem')
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', keyPath, '-out', certPath
  ], { stdio: 'ignore', timeout: 30_000 })

  const server = createServer({ key: await readFile(keyPath), cert: await readFile(certPath) }, (request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' })
    const seenAuthorization = request.headers.authorization !== undefined
    response.end(JSON.stringify({ id: ID, created: 1_700_000_000, name: 'Run 0000000', run_time: 0, state: 'running', seenAuthorization }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }))
  const origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`

  t.test('an untrusted certificate is refused, not bypassed', async (t) => {
    const proxy = await buildTestApp(t, origin)
    const response = await proxy.inject({ method: 'GET', url: `/api/v1/computations/${ID}` })
    t.equal(response.statusCode, 502)
    t.equal(response.json().code, 'PROXY_UPSTREAM_PROTOCOL_ERROR')
  })

  t.test('a certificate from CODEOCEAN_CA_FILE is trusted', async (t) => {
    const proxy = await buildTestApp(t, origin, { CODEOCEAN_CA_FILE: certPath })
    const response = await proxy.inject({ method: 'GET', url: `/api/v1/computations/${ID}` })
    t.equal(response.statusCode, 200)
    t.match(response.json(), { id: ID, seenAuthorization: true })
  })

  t.test('an unreadable or non-PEM CA file stops start-up', async (t) => {
    const notPem = join(directory, 'not.pem')
    await writeFile(notPem, 'hello')
    for (const [path, problem] of [[join(directory, 'missing.pem'), /cannot be read: ENOENT/], [notPem, /holds no PEM certificate/]] as const) {
      const config = loadConfig({ CODEOCEAN_DOMAIN: origin, CODEOCEAN_TOKEN: TEST_TOKEN, CODEOCEAN_CA_FILE: path })
      await t.rejects(buildApp({ config, logger: createLogSink().logger }), ConfigError)
      await t.rejects(buildApp({ config, logger: createLogSink().logger }), { message: problem })
    }
  })
})
