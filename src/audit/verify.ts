// Walks every instance's chain in the store and recomputes each link: the first record whose
// hash, link or position does not hold is reported. A chain may start after seq 1 (retention
// pruned its beginning): its first kept record's stored link is then trusted as the anchor.
import type { Store } from '../store/store.js'
import { chainAnchor, linkHash } from './chain.js'

export interface BrokenLink {
  instanceId: string
  seq: number
  auditId: string
  reason: string
}

export interface VerifyResult {
  chains: number
  records: number
  broken?: BrokenLink
}

const PAGE = 1000

export async function verifyAuditTrail (store: Store): Promise<VerifyResult> {
  let records = 0
  const instances = await store.chainInstances()
  for (const instanceId of instances) {
    let expectedSeq: number | undefined
    let prevHash: string | undefined
    let after = 0
    for (let rows = await store.readChain(instanceId, after, PAGE); rows.length > 0; rows = await store.readChain(instanceId, after, PAGE)) {
      for (const row of rows) {
        const broken = (reason: string): VerifyResult => ({ chains: instances.length, records, broken: { instanceId, seq: row.seq, auditId: row.auditId, reason } })
        if (expectedSeq === undefined) {
          if (row.seq === 1 && row.prevHash !== chainAnchor(instanceId)) return broken('the first record does not link to the chain\'s anchor')
        } else if (row.seq !== expectedSeq + 1) {
          return broken(`records ${expectedSeq + 1} to ${row.seq - 1} are missing`)
        } else if (row.prevHash !== prevHash) {
          return broken('it does not link to the record before it')
        }
        if (linkHash(row.prevHash, row.seq, row.body) !== row.hash) return broken('its content does not match its hash')
        const body = JSON.parse(row.body) as { auditId?: unknown, stage?: unknown, seq?: unknown, instanceId?: unknown }
        if (body.auditId !== row.auditId || body.stage !== row.stage || body.seq !== row.seq || body.instanceId !== instanceId) {
          return broken('its indexed fields do not match its hashed content')
        }
        expectedSeq = row.seq
        after = row.seq
        prevHash = row.hash
        records++
      }
    }
  }
  return { chains: instances.length, records }
}
