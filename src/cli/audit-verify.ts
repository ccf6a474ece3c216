#!/usr/bin/env node
// `codeocean-proxy-audit-verify [options]` (`npm run audit:verify -- [options]` in a checkout):
// checks the audit trail of the configured store (DATABASE_URL, or the SQLite file at
// AUDIT_DB_PATH) with the audit key (AUDIT_HMAC_KEY, AUDIT_HMAC_KEY_FILE, or the key file beside
// the SQLite database). Prints OK with the counts and exits 0, or names the first problem and
// exits 1; a usage error, or a SQLite file that is not there (it is never made here: a mistyped
// path must not verify as an empty trail), exits 2.
//   --checkpoints FILE       a log file holding the proxy's audit checkpoints (repeatable)
//   --previous-key-file FILE an audit key used before a rotation (repeatable)
//   --allow-unkeyed          check chains written before links were keyed, instead of failing them
import { readFileSync } from 'node:fs'
import { chainKeyFrom, type Checkpoint } from '../audit/chain.js'
import { existingHmacKey, readKeyFile } from '../audit/hmac-key.js'
import { checkpointsIn, verifyAuditTrail } from '../audit/verify.js'
import { storeConfigFrom, type Config } from '../config.js'
import { ConfigError } from '../errors.js'
import { missingDatabase, openStore } from '../store/open.js'

const USAGE = 'usage: codeocean-proxy-audit-verify [--checkpoints FILE]... [--previous-key-file FILE]... [--allow-unkeyed]'

let settings: Config['store']
const args = process.argv.slice(2)
const checkpoints: Checkpoint[] = []
const auditKeys: Buffer[] = []
let allowUnkeyed = false
try {
  for (let index = 0; index < args.length; index++) {
    const flag = args[index]
    if (flag === '--allow-unkeyed') {
      allowUnkeyed = true
      continue
    }
    const file = args[++index]
    if (file === undefined || (flag !== '--checkpoints' && flag !== '--previous-key-file')) throw new Error(USAGE)
    if (flag === '--checkpoints') checkpoints.push(...checkpointsIn(readFileSync(file, 'utf8')))
    else auditKeys.push(readKeyFile(file, file))
  }
  const chosen = storeConfigFrom(process.env)
  if (typeof chosen === 'string') throw new Error(chosen)
  settings = chosen
  const missing = missingDatabase(settings)
  if (missing !== undefined) throw new Error(missing)
  // The key the proxy runs with, read as the proxy reads it (never made up here).
  const hmacKey = process.env.AUDIT_HMAC_KEY?.trim()
  const hmacKeyFile = process.env.AUDIT_HMAC_KEY_FILE?.trim()
  const current = existingHmacKey({ ...(hmacKey ? { hmacKey } : {}), ...(hmacKeyFile ? { hmacKeyFile } : {}) }, settings)
  if (current !== undefined) auditKeys.unshift(current)
} catch (error) {
  process.stderr.write(`${error instanceof ConfigError ? error.problems.join('\n') : error instanceof Error ? error.message : String(error)}\n`)
  process.exit(2)
}

const store = await openStore(settings)
try {
  const result = await verifyAuditTrail(store, { keys: auditKeys.map(chainKeyFrom), allowUnkeyed, checkpoints })
  if (result.broken === undefined) {
    const unkeyed = result.unkeyed === undefined ? '' : ` (${result.unkeyed} of them unkeyed: those show naive edits only)`
    const vouched = checkpoints.length === 0 ? '' : `, and nothing a checkpoint vouches for is missing`
    process.stdout.write(`OK: ${result.records} audit records in ${result.chains} chains verify${unkeyed}${vouched}\n`)
  } else {
    const { instanceId, seq, auditId, reason } = result.broken
    process.stdout.write(`BROKEN: chain ${instanceId}, record ${seq}${auditId === '' ? '' : ` (audit id ${auditId})`}: ${reason}\n`)
    process.exitCode = 1
  }
} finally {
  await store.close()
}
