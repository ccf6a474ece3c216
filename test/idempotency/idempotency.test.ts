// The Idempotency-Key decisions: which request a key stands for, what a retry gets, and what a
// run's ending does to its key.
import { createHash } from 'node:crypto'
import t from 'tap'
import { claimFor, idempotencyKeyOf, requestHash, settlementFor, verdictFor } from '../../src/idempotency/idempotency.js'
import type { IdempotencyRow } from '../../src/store/store.js'

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex')

t.test('requestHash is the SHA-256 of the body as canonical JSON', async (t) => {
  t.equal(requestHash({ b: [2, { d: 1, c: null }], a: 'ü' }), sha256('{"a":"ü","b":[2,{"c":null,"d":1}]}'))
  t.equal(requestHash(undefined), sha256(''), 'no body hashes as the empty text')
  t.not(requestHash(undefined), requestHash(null), 'no body is not a JSON null')
})

t.test('requestHash is the same for one run with its fields in another order, at any depth', async (t) => {
  const run = { capsule_id: 'cap-1', parameters: ['--x', '1'], named_parameters: [{ param_name: 'a', value: '1' }], data_assets: [{ id: 'd', mount: 'm' }] }
  const reordered = { data_assets: [{ mount: 'm', id: 'd' }], named_parameters: [{ value: '1', param_name: 'a' }], parameters: ['--x', '1'], capsule_id: 'cap-1' }
  t.equal(requestHash(reordered), requestHash(run))
  t.equal(requestHash(JSON.parse(JSON.stringify(reordered))), requestHash(run), 'as parsed from the wire')
})

t.test('requestHash differs for a different value, type, array order, or key', async (t) => {
  const base = requestHash({ capsule_id: 'cap-1', parameters: ['a', 'b'] })
  t.not(requestHash({ capsule_id: 'cap-2', parameters: ['a', 'b'] }), base, 'another value')
  t.not(requestHash({ capsule_id: 'cap-1', parameters: ['b', 'a'] }), base, 'another array order')
  t.not(requestHash({ capsule_id: 'cap-1', parameters: ['a', 'b'], version: 1 }), base, 'one more field')
  t.not(requestHash({ capsule_id: 'cap-1', parameters: 'a,b' }), base, 'another type')
  t.not(requestHash({ n: 1 }), requestHash({ n: '1' }), 'a number is not its text')
})

t.test('requestHash keeps a "__proto__" key as data', async (t) => {
  const poisoned = JSON.parse('{"capsule_id":"cap-1","__proto__":{"pipeline_id":"p"}}') as unknown
  t.not(requestHash(poisoned), requestHash({ capsule_id: 'cap-1' }), 'the key is not dropped from the hash')
  t.equal(requestHash(poisoned), sha256('{"__proto__":{"pipeline_id":"p"},"capsule_id":"cap-1"}'))
})

t.test('idempotencyKeyOf accepts 1 to 255 printable ASCII characters, bare or as an sf-string', async (t) => {
  const cases: Array<[header: string | string[] | undefined, key: string | undefined, why: string]> = [
    [undefined, undefined, 'no header'],
    [[], undefined, 'no header, as an empty list'],
    ['8e03978e-40d5-43e8-bc93-6894a57f9324', '8e03978e-40d5-43e8-bc93-6894a57f9324', 'a UUID'],
    ['a', 'a', 'one character'],
    ['k'.repeat(255), 'k'.repeat(255), '255 characters'],
    [' !~', ' !~', 'the ends of the printable range'],
    ['a, b', 'a, b', 'a comma is printable'],
    ['ab"', 'ab"', 'a quote not at the start is just a character'],
    [['only-one'], 'only-one', 'one header as a list'],
    ['"8e03978e"', '8e03978e', 'the quotes of an sf-string are stripped'],
    ['"a\\"b\\\\c"', 'a"b\\c', 'an sf-string\'s escapes are undone'],
    [`"${'k'.repeat(255)}"`, 'k'.repeat(255), 'the limit counts the key, not its quotes']
  ]
  for (const [header, key, why] of cases) t.equal(idempotencyKeyOf(header), key, why)
})

t.test('idempotencyKeyOf refuses a malformed key with InvalidRequest', async (t) => {
  const cases: Array<[header: string | string[], why: string]> = [
    ['', 'empty'],
    ['k'.repeat(256), '256 characters'],
    ['caf\u00e9', 'not ASCII'],
    ['a\tb', 'a control character'],
    ['a\u007fb', 'DEL'],
    [['one', 'two'], 'two headers'],
    ['""', 'an empty sf-string'],
    ['"abc', 'an unclosed sf-string'],
    ['"a"b"', 'an unescaped quote inside an sf-string'],
    ['"a\\nb"', 'an escape sf-string does not have'],
    ['"a\\"', 'an sf-string whose closing quote is escaped'],
    ['"caf\u00e9"', 'an sf-string that is not ASCII'],
    ['"abc";p=1', 'an sf-string with parameters'],
    [`"${'k'.repeat(256)}"`, 'an sf-string of 256 characters']
  ]
  for (const [header, why] of cases) {
    t.throws(() => idempotencyKeyOf(header), { code: 'PROXY_INVALID_REQUEST', statusCode: 400 }, why)
  }
})

const NOW = Date.UTC(2026, 10, 26, 12, 0, 0)
const STALE_AFTER = 60_000

function stored (overrides: Partial<IdempotencyRow> = {}): IdempotencyRow {
  return { ...claimFor('alice@example.com', 'k1', 'hash-a', new Date(NOW - 1000), 86_400_000 + 1000), ...overrides }
}

t.test('verdictFor: what a request gets, given what its claim found', async (t) => {
  const completed = stored({ state: 'completed', status: 200, headers: { 'content-type': 'application/json' }, body: '{"id":"c-1"}', computationId: 'c-1' })
  const unknown = stored({ state: 'unknown' })
  const stale = stored({ createdAt: new Date(NOW - STALE_AFTER - 1).toISOString() })
  const justFresh = stored({ createdAt: new Date(NOW - STALE_AFTER).toISOString() })
  const unreadableTime = stored({ createdAt: 'not a time' })
  const cases: Array<[existing: IdempotencyRow | undefined, hash: string, verdict: unknown, why: string]> = [
    [undefined, 'hash-a', { kind: 'proceed' }, 'claimed now'],
    [completed, 'hash-a', { kind: 'replay', row: completed }, 'completed, same body'],
    [completed, 'hash-b', { kind: 'reused' }, 'completed, another body'],
    [stored(), 'hash-a', { kind: 'in_flight' }, 'still running, same body'],
    [stored(), 'hash-b', { kind: 'reused' }, 'still running, another body'],
    [justFresh, 'hash-a', { kind: 'in_flight' }, 'running exactly staleAfterMs'],
    [stale, 'hash-a', { kind: 'unknown', row: stale }, 'running longer than staleAfterMs: its instance may have died'],
    [stale, 'hash-b', { kind: 'reused' }, 'stale, another body'],
    [unreadableTime, 'hash-a', { kind: 'unknown', row: unreadableTime }, 'an unreadable claim time counts as stale'],
    [unknown, 'hash-a', { kind: 'unknown', row: unknown }, 'outcome unknown, same body'],
    [unknown, 'hash-b', { kind: 'reused' }, 'outcome unknown, another body']
  ]
  for (const [existing, hash, verdict, why] of cases) t.same(verdictFor(existing, hash, NOW, STALE_AFTER), verdict, why)
})

t.test('settlementFor: how a run ended decides its key\'s fate', async (t) => {
  const cases: Array<[forwarded: boolean, upstreamStatus: number | undefined, errorClass: string | undefined, fate: string, why: string]> = [
    [false, undefined, undefined, 'release', 'refused by the proxy before sending'],
    [false, 503, 'refused', 'release', 'not forwarded, whatever else is said'],
    [true, 200, undefined, 'complete', 'answered 200'],
    [true, 201, undefined, 'complete', 'answered 201'],
    [true, 204, undefined, 'complete', 'answered 204'],
    [true, 302, undefined, 'complete', 'a redirect is a final answer too'],
    [true, 400, undefined, 'complete', 'a bad request stays bad'],
    [true, 403, undefined, 'complete', 'forbidden stays forbidden'],
    [true, 404, undefined, 'complete', 'no such capsule'],
    [true, 422, undefined, 'complete', 'unprocessable'],
    [true, 401, undefined, 'release', "the proxy's own token was refused: nothing ran"],
    [true, 408, undefined, 'release', 'Code Ocean timed out reading the request'],
    [true, 429, undefined, 'release', 'throttled'],
    [true, 503, undefined, 'release', 'unavailable'],
    [true, 500, undefined, 'unknown', 'an internal error may have come after the run started'],
    [true, 502, undefined, 'unknown', 'a gateway in front of Code Ocean failed'],
    [true, 504, undefined, 'unknown', 'a gateway in front of Code Ocean timed out'],
    [true, 600, undefined, 'unknown', 'no HTTP status'],
    [true, undefined, 'refused', 'release', 'connection refused: nothing sent'],
    [true, undefined, 'unreachable', 'release', 'unreachable: nothing sent'],
    [true, undefined, 'connect_timeout', 'release', 'no connection in time: nothing sent'],
    [true, undefined, 'timeout', 'unknown', 'sent, no answer in time'],
    [true, undefined, 'reset', 'unknown', 'connection reset after sending'],
    [true, undefined, 'protocol', 'unknown', 'an unreadable answer'],
    [true, undefined, 'closed', 'unknown', 'the connection pool closed'],
    [true, undefined, undefined, 'unknown', 'forwarded, with neither an answer nor a failure']
  ]
  for (const [forwarded, upstreamStatus, errorClass, fate, why] of cases) {
    t.equal(settlementFor({ forwarded, upstreamStatus, errorClass }), fate, why)
  }
})
