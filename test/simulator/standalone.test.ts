// The standalone simulator's settings: the proxy's names for the same things, one token source,
// and every mistake named without the token.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { ConfigError } from '../../src/errors.js'
import { SIMULATOR_CAPSULES, startSimulator } from '../../src/simulator/index.js'
import { SIMULATOR_DEFAULT_PORT, standaloneSimulatorOptions } from '../../src/simulator/standalone.js'

async function fileHolding (t: Test, text: string): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'codeocean-proxy-simulator-'))
  t.teardown(() => rm(directory, { recursive: true, force: true }))
  const file = join(directory, 'codeocean-token')
  await writeFile(file, text)
  return file
}

function problemsOf (env: Record<string, string>): string[] {
  try {
    standaloneSimulatorOptions(env)
  } catch (error) {
    if (error instanceof ConfigError) return error.problems
    throw error
  }
  return []
}

t.test('listens on loopback at 8081 by default, with the token it is given', async (t) => {
  t.same(standaloneSimulatorOptions({ CODEOCEAN_TOKEN: ' cop_sim ' }), { token: 'cop_sim', host: '127.0.0.1', port: SIMULATOR_DEFAULT_PORT })
  t.same(standaloneSimulatorOptions({ CODEOCEAN_TOKEN: 'cop_sim', HOST: '0.0.0.0', PORT: '9000', SIMULATOR_PUBLIC_URL: 'http://127.0.0.1:9000', CODEOCEAN_TOKEN_FILE: '' }),
    { token: 'cop_sim', host: '0.0.0.0', port: 9000, publicUrl: 'http://127.0.0.1:9000' }, 'an empty variable counts as unset')
})

t.test('reads the token from the file the proxy is given too, and accepts exactly that token', async (t) => {
  const file = await fileHolding(t, 'cop_from_a_secret\n')
  const simulator = await startSimulator(standaloneSimulatorOptions({ CODEOCEAN_TOKEN_FILE: file, PORT: '0' }))
  t.teardown(() => simulator.close())
  const run = async (token: string): Promise<number> => (await fetch(`${simulator.url}/api/v1/computations`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${token}:`).toString('base64')}`, 'content-type': 'application/json' },
    body: JSON.stringify({ capsule_id: SIMULATOR_CAPSULES.analysis }),
    signal: AbortSignal.timeout(5000)
  })).status
  t.equal(await run('cop_from_a_secret'), 200)
  t.equal(await run('cop_something_else'), 401)
})

t.test('names every bad variable, and never the token', async (t) => {
  t.same(problemsOf({}), ['CODEOCEAN_TOKEN is required: set it to the token the simulator accepts, or set CODEOCEAN_TOKEN_FILE to a file holding it'])
  t.same(problemsOf({ CODEOCEAN_TOKEN: 'cop_secret_value', CODEOCEAN_TOKEN_FILE: '/run/secrets/codeocean-token', PORT: '65536' }), [
    'PORT="65536" is invalid: expected a TCP port, 0 to 65535',
    'CODEOCEAN_TOKEN and CODEOCEAN_TOKEN_FILE are both set: set only one'
  ])
  t.same(problemsOf({ CODEOCEAN_TOKEN: 'cop_secret_value', PORT: 'http' }), ['PORT="http" is invalid: expected a TCP port, 0 to 65535'])
  t.same(problemsOf({ CODEOCEAN_TOKEN_FILE: join(tmpdir(), 'no-such-token-file') }), ['the file named by CODEOCEAN_TOKEN_FILE cannot be read (ENOENT): check the path'])
  t.same(problemsOf({ CODEOCEAN_TOKEN_FILE: await fileHolding(t, ' \n') }), ['the file named by CODEOCEAN_TOKEN_FILE is empty'])
})
