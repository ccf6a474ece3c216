// Audit-Ids: well-formed UUIDv7s, in the order they were made, never repeated.
import t from 'tap'
import { newAuditId } from '../../src/audit/audit-id.js'

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

t.test('is a UUIDv7 carrying the time it was made', async (t) => {
  const id = newAuditId(Date.UTC(2026, 0, 2, 3, 4, 5, 678))
  t.match(id, UUID_V7)
  t.equal(parseInt(id.slice(0, 8) + id.slice(9, 13), 16), Date.UTC(2026, 0, 2, 3, 4, 5, 678))
  t.match(newAuditId(), UUID_V7, 'by default, now')
})

t.test('sorts as the times it was made do, and never repeats', async (t) => {
  const ids = [0, 1, 255, 256, 1_700_000_000_000, 1_700_000_000_001, 2 ** 48 - 1].map((ms) => newAuditId(ms))
  t.same([...ids].sort(), ids, 'text order is time order')
  const many = new Set(Array.from({ length: 10_000 }, () => newAuditId(1_700_000_000_000)))
  t.equal(many.size, 10_000, 'ids made in the same millisecond differ')
})
