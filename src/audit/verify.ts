// Walks every instance's chain in the store and checks each record: its position, its link to the
// record before, its own link (a keyed HMAC, under one of the given chain keys), and that every
// column it is searched by says what its hashed body says. Given checkpoints from the log stream,
// it also finds what was cut off: a missing chain, or records missing from a chain's end.
// A chain may start after seq 1 (retention pruned its beginning): its first kept record's stored
// link is then trusted as the anchor. The first problem of each kind stops the walk.
import type { KeyObject } from 'node:crypto'
import type { AuditRow, AuditStore } from '../store/store.js'
import { chainAnchor, checkpointMac, isKeyed, linkHash, type Checkpoint } from './chain.js'
import { indexedColumnsOf } from './indexed-columns.js'

export interface BrokenLink {
  instanceId: string
  seq: number
  auditId: string
  reason: string
}

export interface VerifyOptions {
  /** Chain keys (chainKeyFrom) to check keyed links with: the current one, and earlier ones after a rotation. */
  keys?: readonly KeyObject[]
  /**
   * Check the links of unkeyed chains (written before links were keyed) instead of reporting them:
   * they show naive edits only, since anyone able to write the database could have made them.
   */
  allowUnkeyed?: boolean
  /** Checkpoints read from the log stream (checkpointsIn). */
  checkpoints?: readonly Checkpoint[]
}

export interface VerifyResult {
  chains: number
  records: number
  /** Records checked without a key (allowUnkeyed), when there were any. */
  unkeyed?: number
  broken?: BrokenLink
}

const PAGE = 1000

export async function verifyAuditTrail (store: AuditStore, options: VerifyOptions = {}): Promise<VerifyResult> {
  const keys = options.keys ?? []
  const vouched = new Map<string, Checkpoint>()
  for (const checkpoint of options.checkpoints ?? []) {
    if (!keys.some((key) => checkpointMac(key, checkpoint.instanceId, checkpoint.seq, checkpoint.hash) === checkpoint.mac)) {
      return { chains: 0, records: 0, broken: { instanceId: checkpoint.instanceId, seq: checkpoint.seq, auditId: '', reason: 'a checkpoint in the log does not verify under any given key: the log was edited, or the key is not the one it was made with' } }
    }
    if ((vouched.get(checkpoint.instanceId)?.seq ?? 0) < checkpoint.seq) vouched.set(checkpoint.instanceId, checkpoint)
  }

  let records = 0
  let unkeyed = 0
  const instances = await store.chainInstances()
  const result = (broken?: BrokenLink): VerifyResult => ({ chains: instances.length, records, ...(unkeyed > 0 ? { unkeyed } : {}), ...(broken === undefined ? {} : { broken }) })
  for (const [instanceId, checkpoint] of vouched) {
    if (!instances.includes(instanceId)) {
      return result({ instanceId, seq: checkpoint.seq, auditId: '', reason: `the whole chain is missing: a checkpoint vouches for ${checkpoint.seq} records` })
    }
  }
  for (const instanceId of instances) {
    let prevHash: string | undefined
    let key: KeyObject | undefined
    /** The first and last seq seen: a chain that retention pruned starts after 1. */
    let first = Number.POSITIVE_INFINITY
    let after = 0
    let hashAtCheckpoint: string | undefined
    const checkpoint = vouched.get(instanceId)
    for (let rows = await store.readChain(instanceId, after, PAGE); rows.length > 0; rows = await store.readChain(instanceId, after, PAGE)) {
      for (const row of rows) {
        const broken = (reason: string): VerifyResult => result({ instanceId, seq: row.seq, auditId: row.auditId, reason })
        const keyed = isKeyed(row.hash)
        if (!keyed) {
          if (key !== undefined) return broken('an unkeyed record after keyed ones: written by someone without the key')
          if (options.allowUnkeyed !== true) {
            return broken('the chain is unkeyed (written before links were keyed): anyone able to write the database could have made it; check its links with --allow-unkeyed')
          }
        } else if (key === undefined) {
          // The key whose link this is; when none fits, the first, so the checks below say what is wrong.
          key = keys.find((candidate) => linkHash(row.prevHash, row.seq, row.body, candidate) === row.hash) ?? keys[0]
          if (key === undefined) return broken('the chain is keyed: give the audit key to verify it')
        }
        if (first === Number.POSITIVE_INFINITY) {
          if (row.seq === 1 && row.prevHash !== chainAnchor(instanceId, keyed ? key : undefined)) return broken('the first record does not link to the chain\'s anchor')
        } else if (row.seq !== after + 1) {
          return broken(`records ${after + 1} to ${row.seq - 1} are missing`)
        } else if (row.prevHash !== prevHash) {
          return broken('it does not link to the record before it')
        }
        if (linkHash(row.prevHash, row.seq, row.body, keyed ? key : undefined) !== row.hash) return broken('its content does not match its hash')
        if (!indexedColumnsMatch(row, instanceId, keyed)) return broken('its indexed fields do not match its hashed content')
        first = Math.min(first, row.seq)
        if (row.seq === checkpoint?.seq) hashAtCheckpoint = row.hash
        after = row.seq
        prevHash = row.hash
        records++
        if (!keyed) unkeyed++
      }
    }
    if (checkpoint !== undefined && after < checkpoint.seq) {
      return result({ instanceId, seq: checkpoint.seq, auditId: '', reason: `records ${after + 1} to ${checkpoint.seq} are missing from the end: a checkpoint vouches for them` })
    }
    if (checkpoint !== undefined && first <= checkpoint.seq && hashAtCheckpoint !== checkpoint.hash) {
      return result({ instanceId, seq: checkpoint.seq, auditId: '', reason: 'the record a checkpoint vouches for is not the one stored' })
    }
  }
  return result()
}

/** Every column a record is stored and searched by says what its hashed body says. */
function indexedColumnsMatch (row: AuditRow, instanceId: string, keyed: boolean): boolean {
  const body = JSON.parse(row.body) as Record<string, unknown>
  const columns = indexedColumnsOf(body)
  return body.auditId === row.auditId && body.stage === row.stage && body.seq === row.seq && body.instanceId === instanceId &&
    body.recordedAt === row.recordedAt && columns.action === row.action && columns.computationId === row.computationId &&
    columns.capsuleId === row.capsuleId && columns.pipelineId === row.pipelineId && columns.status === row.status && columns.actor === row.actor &&
    // Unkeyed records predate the column, which they left empty.
    (columns.resumeRunId === row.resumeRunId || (!keyed && row.resumeRunId === null))
}

/** The checkpoints in a log stream's text (pino JSON lines); other lines are skipped. */
export function checkpointsIn (log: string): Checkpoint[] {
  const found: Checkpoint[] = []
  for (const line of log.split('\n')) {
    if (!line.includes('"auditCheckpoint"')) continue
    try {
      const checkpoint = (JSON.parse(line) as { auditCheckpoint?: Partial<Checkpoint> }).auditCheckpoint
      const { instanceId, seq, hash, mac } = checkpoint ?? {}
      if (typeof instanceId === 'string' && typeof seq === 'number' && typeof hash === 'string' && typeof mac === 'string') found.push({ instanceId, seq, hash, mac })
    } catch {
      // Not a JSON line after all (a line cut off by a crash): nothing to vouch for.
    }
  }
  return found
}
