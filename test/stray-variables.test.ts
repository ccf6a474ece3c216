// Variables under the proxy's prefixes that it does not read are warned about, with the name it
// does read that is closest, so a misspelling does not pass without a word.
import t from 'tap'
import { Environment } from '../src/config.js'
import { OWN_PREFIXES, strayVariableWarnings } from '../src/stray-variables.js'

t.test('a misspelt variable is named, with the closest one the proxy reads', async (t) => {
  t.same(strayVariableWarnings({ UPSTREAM_RETRY_ATEMPTS: '5', CODEOCEAN_TOKN: 'cop_x' }), [
    'CODEOCEAN_TOKN is set, but codeocean-proxy reads no such variable and ignores it: did you mean CODEOCEAN_TOKEN?',
    'UPSTREAM_RETRY_ATEMPTS is set, but codeocean-proxy reads no such variable and ignores it: did you mean UPSTREAM_RETRY_ATTEMPTS?'
  ])
  t.match(strayVariableWarnings({ POLICY: 'x', POLICY_PATH: '/etc/policy.yaml' }), [/^POLICY_PATH is set.*did you mean POLICY_FILE\?$/], 'only names under a prefix')
})

t.test('the variables the proxy reads, and other software\'s, are not warned about', async (t) => {
  const read = Object.fromEntries(Object.keys(Environment.properties).map((name) => [name, 'x']))
  t.same(strayVariableWarnings({ ...read, OTEL_EXPORTER_OTLP_HEADERS: 'a=b', LOG_FORMAT: 'json', DATABASE_POOL: '5', HOME: '/root', PORTS: '1' }), [])
})

t.test('every prefix is one of a variable the proxy reads', async (t) => {
  for (const prefix of OWN_PREFIXES) t.ok(Object.keys(Environment.properties).some((name) => name.startsWith(prefix)), prefix)
})
