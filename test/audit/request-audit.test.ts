// A request's audit, on its own: what a change waits for before it is forwarded.
import t from 'tap'
import { RequestAudit } from '../../src/audit/request-audit.js'

t.test('a change with no received record cannot be waited for: it is refused, never forwarded unrecorded', async (t) => {
  const waitedFor: number[] = []
  const audit = new RequestAudit('audit-id', () => {}, async (seq) => { waitedFor.push(seq) })
  await t.rejects(audit.durable(), /no received record/)
  t.same(waitedFor, [], 'the trail was not even asked')
})

t.test('a change with a received record waits for that record to be committed', async (t) => {
  const waitedFor: number[] = []
  const audit = new RequestAudit('audit-id', () => {}, async (seq) => { waitedFor.push(seq) })
  audit.receivedSeq = 42
  await audit.durable()
  t.same(waitedFor, [42])
})
