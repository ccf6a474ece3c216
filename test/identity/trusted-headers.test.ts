// Plain identity headers count only from the gateway's addresses, and only printable values of
// bounded length become a subject, an email or groups.
import t from 'tap'
import { Unauthenticated } from '../../src/errors.js'
import { TrustedHeaders, type TrustedHeaderOptions } from '../../src/identity/trusted-headers.js'
import { addressList } from '../../src/net/address-list.js'

const GATEWAY = '10.0.0.7'

function trustedHeaders (overrides: Partial<TrustedHeaderOptions> = {}): TrustedHeaders {
  return new TrustedHeaders({
    proxies: [`${GATEWAY}/32`],
    userHeader: 'X-Forwarded-User',
    emailHeader: 'X-Forwarded-Email',
    groupsHeader: 'X-Forwarded-Groups',
    ...overrides
  })
}

t.test('addressList accepts addresses and CIDR ranges of both families', async (t) => {
  const list = addressList(['10.0.0.0/8', '192.168.1.10', 'fd00::/8', '::1', '2001:db8::/32', '172.16.0.0/012'])
  const cases: Array<[string, 'ipv4' | 'ipv6', boolean]> = [
    ['10.200.3.4', 'ipv4', true],
    ['11.0.0.1', 'ipv4', false],
    ['192.168.1.10', 'ipv4', true],
    ['192.168.1.11', 'ipv4', false],
    ['fd12:3456::1', 'ipv6', true],
    ['fe80::1', 'ipv6', false],
    ['::1', 'ipv6', true],
    ['::2', 'ipv6', false],
    ['2001:db8:ffff::1', 'ipv6', true],
    ['172.31.255.255', 'ipv4', true],
    ['172.32.0.0', 'ipv4', false]
  ]
  for (const [address, family, listed] of cases) t.equal(list.check(address, family), listed, address)
})

t.test('addressList accepts the widest and the narrowest prefixes', async (t) => {
  t.equal(addressList(['0.0.0.0/0']).check('203.0.113.9', 'ipv4'), true)
  t.equal(addressList(['10.0.0.1/32']).check('10.0.0.1', 'ipv4'), true)
  t.equal(addressList(['10.0.0.1/32']).check('10.0.0.2', 'ipv4'), false)
  t.equal(addressList(['::/0']).check('2001:db8::1', 'ipv6'), true)
  t.equal(addressList(['::1/128']).check('::1', 'ipv6'), true)
})

t.test('an empty trusted list trusts no one', async (t) => {
  t.equal(addressList([]).check('10.0.0.1', 'ipv4'), false)
  t.equal(trustedHeaders({ proxies: [] }).trusts('127.0.0.1'), false)
})

t.test('addressList refuses anything but an address or a CIDR range, naming the entry', async (t) => {
  const bad = [
    '',
    'gateway.example.org',
    '10.0.0',
    '10.0.0.256',
    ' 10.0.0.1',
    '10.0.0.0/',
    '10.0.0.0/33',
    '10.0.0.0/-1',
    '10.0.0.0/ 8',
    '10.0.0.0/8.0',
    '10.0.0.0/0008',
    '10.0.0.0/8/8',
    '::1/129',
    'fd00::/x',
    '::g'
  ]
  for (const entry of bad) {
    t.throws(() => addressList(['10.0.0.1', entry]), new TypeError(`${JSON.stringify(entry)} is not an IP address or CIDR range`), JSON.stringify(entry))
  }
})

t.test('a peer is trusted when its address is in the list', async (t) => {
  const headers = trustedHeaders({ proxies: ['10.0.0.0/24', 'fd00::/8'] })
  t.equal(headers.trusts('10.0.0.200'), true)
  t.equal(headers.trusts('10.0.1.1'), false)
  t.equal(headers.trusts('fd00::5'), true)
  t.equal(headers.trusts('fe80::5'), false)
})

t.test('an IPv4 peer seen on a dual-stack socket as ::ffff:a.b.c.d is trusted as its IPv4 address', async (t) => {
  const headers = trustedHeaders({ proxies: ['10.0.0.0/24'] })
  t.equal(headers.trusts('::ffff:10.0.0.9'), true)
  t.equal(headers.trusts('::ffff:10.0.1.9'), false)
})

t.test('verdicts stay right past the number of peers remembered', async (t) => {
  const headers = trustedHeaders({ proxies: ['10.0.0.0/24'] })
  for (let round = 0; round < 2; round++) {
    for (let peer = 0; peer < 1750; peer++) {
      const address = `10.${peer % 7}.0.${peer % 250}`
      if (headers.trusts(address) !== (peer % 7 === 0)) t.fail(`${address} judged wrongly`)
    }
  }
  t.equal(headers.trusts('10.0.0.1'), true)
  t.equal(headers.trusts('10.0.1.1'), false)
})

t.test('a peer that is unknown or not an address is not trusted', async (t) => {
  const headers = trustedHeaders({ proxies: ['0.0.0.0/0', '::/0'] })
  t.equal(headers.trusts(undefined), false, 'a socket already closed has no remote address')
  t.equal(headers.trusts('not-an-address'), false)
  t.equal(headers.trusts(''), false)
})

t.test('names are the three header names, lower-cased as Node delivers them', async (t) => {
  t.same(trustedHeaders().names, ['x-forwarded-user', 'x-forwarded-email', 'x-forwarded-groups'])
})

t.test('present is true when any one identity header is sent, even an empty one', async (t) => {
  const headers = trustedHeaders()
  t.equal(headers.present({ 'x-forwarded-user': 'alice' }), true)
  t.equal(headers.present({ 'x-forwarded-email': 'alice@example.org' }), true)
  t.equal(headers.present({ 'x-forwarded-groups': '' }), true)
  t.equal(headers.present({ authorization: 'Bearer x', 'x-forwarded-for': '1.2.3.4' }), false)
  t.equal(headers.present({ 'x-forwarded-user': undefined }), false, 'a header listed as undefined is absent')
})

t.test('identify refuses headers from a peer that is not the gateway, whatever they say', async (t) => {
  const headers = trustedHeaders()
  const sent = { 'x-forwarded-user': 'alice', 'x-forwarded-groups': 'admins' }
  t.throws(() => headers.identify('10.0.0.8', sent), { code: 'PROXY_UNAUTHENTICATED', statusCode: 401 })
  t.throws(() => headers.identify(undefined, sent), Unauthenticated)
})

t.test('identify names the caller the gateway names, as a trusted-header identity', async (t) => {
  t.same(trustedHeaders().identify(GATEWAY, {
    'x-forwarded-user': 'alice',
    'x-forwarded-email': 'alice@example.org',
    'x-forwarded-groups': 'team-a,admins'
  }), { subject: 'alice', email: 'alice@example.org', groups: ['team-a', 'admins'], method: 'trusted-header', keyId: null })
})

t.test('identify reads the header names it was configured with, in any case', async (t) => {
  const headers = trustedHeaders({ userHeader: 'X-Auth-Request-User', emailHeader: 'X-Auth-Request-Email', groupsHeader: 'X-Auth-Request-Groups' })
  t.same(headers.identify(`::ffff:${GATEWAY}`, { 'x-auth-request-user': 'bob', 'x-auth-request-email': 'bob@example.org', 'x-auth-request-groups': 'ops' }),
    { subject: 'bob', email: 'bob@example.org', groups: ['ops'], method: 'trusted-header', keyId: null })
})

t.test('identify refuses a missing or unusable user header from the gateway', async (t) => {
  const headers = trustedHeaders()
  const users: Array<[string, string | string[] | undefined]> = [
    ['missing', undefined],
    ['empty', ''],
    ['only a space', ' '],
    ['a leading space', ' alice'],
    ['a trailing space', 'alice '],
    ['a control character', 'ali\x01ce'],
    ['a tab', 'ali\tce'],
    ['a non-ASCII character', 'alicé'],
    ['257 characters', 'a'.repeat(257)],
    ['repeated as a list', ['alice', 'mallory']]
  ]
  for (const [what, user] of users) {
    t.throws(() => headers.identify(GATEWAY, { 'x-forwarded-user': user, 'x-forwarded-email': 'alice@example.org' }),
      { code: 'PROXY_UNAUTHENTICATED', statusCode: 401 }, what)
  }
})

t.test('a user of one printable character, of 256, or with inner spaces is accepted', async (t) => {
  const headers = trustedHeaders()
  for (const user of ['a', 'a'.repeat(256), 'Alice Liddell', '~!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}']) {
    t.equal(headers.identify(GATEWAY, { 'x-forwarded-user': user }).subject, user, user.slice(0, 20))
  }
})

t.test('an email header that is missing or unusable gives no email, without refusing the caller', async (t) => {
  const headers = trustedHeaders()
  const emails: Array<[string, string | string[] | undefined]> = [
    ['missing', undefined],
    ['empty', ''],
    ['unprintable', 'alice\n@example.org'],
    ['over 256 characters', `${'a'.repeat(250)}@example.org`],
    ['repeated as a list', ['alice@example.org', 'mallory@example.org']]
  ]
  for (const [what, email] of emails) {
    const identity = headers.identify(GATEWAY, { 'x-forwarded-user': 'alice', 'x-forwarded-email': email })
    t.same([identity.subject, identity.email], ['alice', null], what)
  }
})

t.test('groups are split on commas and trimmed, and empty or unusable ones are dropped', async (t) => {
  const headers = trustedHeaders()
  const groups = (value: string | string[] | undefined): string[] => headers.identify(GATEWAY, { 'x-forwarded-user': 'alice', 'x-forwarded-groups': value }).groups
  t.same(groups(' team-a ,admins,, ,data science '), ['team-a', 'admins', 'data science'])
  t.same(groups(`ok,bad\u0007bell,caf\u00e9,${'g'.repeat(257)},${'g'.repeat(256)}`), ['ok', 'g'.repeat(256)])
  t.same(groups(''), [])
  t.same(groups(undefined), [], 'no groups header')
  t.same(groups(['team-a', 'admins']), [], 'a header repeated as a list is ignored')
})

t.test('at most 256 groups are kept, counted after the unusable ones are dropped', async (t) => {
  const headers = trustedHeaders()
  const names = Array.from({ length: 300 }, (_, index) => `g${index}`)
  const kept = headers.identify(GATEWAY, { 'x-forwarded-user': 'alice', 'x-forwarded-groups': [',', ...names].join(',') }).groups
  t.equal(kept.length, 256)
  t.equal(kept[0], 'g0')
  t.equal(kept[255], 'g255')
})
