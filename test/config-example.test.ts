// .env.example is the configuration schema written out: current, complete, in the schema's order,
// read by Node as an env file, and holding exactly the defaults the proxy runs with.
import { readFile } from 'node:fs/promises'
import { parseEnv } from 'node:util'
import t from 'tap'
import { ENV_EXAMPLE_PATH, renderEnvExample } from '../src/config-example.js'
import { Environment, loadConfig } from '../src/config.js'
import { ConfigError } from '../src/errors.js'

const example = await readFile(ENV_EXAMPLE_PATH, 'utf8')
/** Every `NAME=value` line, commented out or not. */
const assignments = [...example.matchAll(/^(?:# )?([A-Z][A-Z0-9_]*)=(.*)$/gm)].map(([, name, value]) => [name as string, value as string] as const)

t.test('the committed .env.example is what the schema generates (run `npm run generate:config` after changing src/config.ts)', async (t) => {
  t.equal(example, renderEnvExample())
})

t.test('it names every variable the proxy reads, once, in the schema\'s order', async (t) => {
  t.same(assignments.map(([name]) => name), Object.keys(Environment.properties))
})

t.test('as an env file it sets only the one variable that has to be filled in, still empty', async (t) => {
  t.same(parseEnv(example), { CODEOCEAN_DOMAIN: '' })
  t.throws(() => loadConfig(parseEnv(example)), new ConfigError(['CODEOCEAN_DOMAIN is required: set it to the Code Ocean origin, e.g. https://codeocean.example.com']),
    'and the proxy says so when it is left that way')
})

t.test('every line uncommented, it configures exactly the defaults', async (t) => {
  const required = { CODEOCEAN_DOMAIN: 'https://codeocean.example.com', CODEOCEAN_TOKEN: 'cop_example_token' }
  const uncommented = Object.fromEntries(assignments)
  t.ok(Object.values(uncommented).filter((value) => value !== '').length > 40, 'defaults are written out')
  t.same(loadConfig({ ...uncommented, ...required }), loadConfig(required))
})
