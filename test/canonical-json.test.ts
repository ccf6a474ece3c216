// The project's one canonical JSON: key order never matters, and no key is lost, "__proto__" included.
import t from 'tap'
import { AuditTrail } from '../src/audit/trail.js'
import { canonicalJson } from '../src/canonical-json.js'
import { requestHash } from '../src/idempotency/idempotency.js'
import { openSqliteDatabase } from '../src/store/sqlite-database.js'
import { createLogSink } from './helpers/log-sink.js'

t.test('keys are sorted at every depth, arrays keep their order, undefined is the empty text', async (t) => {
  t.equal(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } }), '{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}')
  t.equal(canonicalJson(undefined), '')
  t.equal(canonicalJson(null), 'null')
})

t.test('an own "__proto__" key is kept as data, at the top and nested', async (t) => {
  const parsed = JSON.parse('{"__proto__": "x", "named": {"__proto__": {"polluted": true}}}') as unknown
  t.equal(canonicalJson(parsed), '{"__proto__":"x","named":{"__proto__":{"polluted":true}}}')
  t.not(requestHash(parsed), requestHash(JSON.parse('{"named": {}}')), 'two bodies that differ only there are two requests')
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'and no prototype was touched')
})

t.test('an audit record keeps a parameter named __proto__ in its stored, hashed body', async (t) => {
  const store = openSqliteDatabase(':memory:')
  t.teardown(() => store.close())
  const trail = new AuditTrail({ store, log: createLogSink().logger, instanceId: 'proto' })
  trail.append('received', 'a1', { parameters: Object.fromEntries([['__proto__', 'hmac-of-value'], ['threshold', 'hmac-2']]) })
  await trail.close()
  const [row] = await store.readChain('proto', 0, 1)
  t.match(row?.body, /"parameters":\{"__proto__":"hmac-of-value","threshold":"hmac-2"\}/)
})
