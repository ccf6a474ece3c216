// `npm run audit:verify`: checks the audit trail of the configured store (DATABASE_URL, or the
// SQLite file at AUDIT_DB_PATH). Prints OK with the counts and exits 0, or names the first
// broken record and exits 1.
import { verifyAuditTrail } from '../audit/verify.js'
import { Environment } from '../config.js'
import { openStore } from '../store/open.js'

const databaseUrl = process.env.DATABASE_URL?.trim()
const path = process.env.AUDIT_DB_PATH?.trim() || String(Environment.properties.AUDIT_DB_PATH.default)
const store = await openStore(databaseUrl ? { kind: 'postgres', url: databaseUrl } : { kind: 'sqlite', path })
try {
  const result = await verifyAuditTrail(store)
  if (result.broken === undefined) {
    process.stdout.write(`OK: ${result.records} audit records in ${result.chains} chains verify\n`)
  } else {
    const { instanceId, seq, auditId, reason } = result.broken
    process.stdout.write(`BROKEN: chain ${instanceId}, record ${seq} (audit id ${auditId}): ${reason}\n`)
    process.exitCode = 1
  }
} finally {
  await store.close()
}
