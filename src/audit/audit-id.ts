// Audit-Ids are UUIDv7 (RFC 9562): time-ordered, so each new record lands at the end of the
// audit_id index instead of on a random page of it. With random (v4) ids nearly every record
// dirtied a page of its own, which the database then wrote out twice (log and checkpoint).
import { randomUUID } from 'node:crypto'

/** A UUIDv7: the current Unix time in ms (48 bits), then 74 random bits from a v4 UUID. */
export function newAuditId (now = Date.now()): string {
  const time = now.toString(16).padStart(12, '0')
  // randomUUID is `xxxxxxxx-xxxx-4xxx-Vxxx-xxxxxxxxxxxx`: its last 74 random bits and variant are kept.
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-7${randomUUID().slice(15)}`
}
