// Graceful shutdown under load: the proxy (SQLite file) gets SIGTERM while slow upstream answers
// keep requests in flight; every request sent before it must be answered, and every answer audited.
import { readFile } from 'node:fs/promises'
import Database from 'better-sqlite3'
import { stopChild } from './children.js'
import { fixedRate, type Outcome } from './load.js'
import { basic, getSpec, runSpec, seedComputation, serviceKey, slowUpstream, sqliteStore, startProxy, type Bench } from './targets.js'

export interface Shutdown {
  rate: number
  delayMs: number
  sent: number
  inFlightAtSigterm: number
  answered: number
  /** Sent before SIGTERM and not answered 2xx, or any 5xx other than a 503 to a request sent after it. */
  failed: number
  /** Sent after SIGTERM: connection refused or closed, or 503 while closing (new work turned away). */
  turnedAway: number
  /** Answered requests whose audit id has a `completed` record in the store. */
  audited: number
  auditLogLines: number
  exitCode: number | null
  closeMs: number
  errorCodes: string
}

const REFUSED = new Set(['ECONNREFUSED', 'ECONNRESET', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED'])

/** Reads and runs alternately at `rate` for `seconds`, upstream answers `delayMs` late, SIGTERM halfway. */
export async function shutdownUnderLoad (bench: Bench, rate: number, seconds: number, delayMs: number): Promise<Shutdown> {
  const store = sqliteStore(bench)
  const headers = { authorization: basic(await serviceKey(store)) }
  const proxy = await startProxy(bench, store)
  const outcomes: Outcome[] = []
  let sigtermAtMs = Number.POSITIVE_INFINITY
  let closeMs = Number.NaN
  let exit: { code: number | null } = { code: null }
  try {
    const id = await seedComputation(proxy.url, headers)
    const get = getSpec(id, headers)
    const run = runSpec(headers)
    await slowUpstream(bench, delayMs)
    const loadStarted = process.hrtime.bigint()
    const stopped = new Promise<void>((resolve) => {
      setTimeout(() => {
        sigtermAtMs = Number(process.hrtime.bigint() - loadStarted) / 1e6
        void stopChild(proxy.child.process, 20_000).then((result) => {
          closeMs = Number(process.hrtime.bigint() - loadStarted) / 1e6 - sigtermAtMs
          exit = result
          resolve()
        })
      }, seconds * 500)
    })
    await fixedRate(proxy.url, { rate, seconds, request: (index) => index % 2 === 0 ? get : run, onOutcome: (outcome) => outcomes.push(outcome) })
    await stopped
  } finally {
    await slowUpstream(bench, undefined)
    await stopChild(proxy.child.process)
  }
  const before = (outcome: Outcome): boolean => outcome.sentAtMs < sigtermAtMs
  let failed = 0
  let turnedAway = 0
  const codes = new Map<string, number>()
  for (const outcome of outcomes) {
    const label = outcome.error ?? String(outcome.status)
    codes.set(`${before(outcome) ? 'before' : 'after'} SIGTERM: ${label}`, (codes.get(`${before(outcome) ? 'before' : 'after'} SIGTERM: ${label}`) ?? 0) + 1)
    const ok = outcome.status !== undefined && outcome.status < 400
    if (ok) continue
    if (!before(outcome) && (outcome.status === 503 || REFUSED.has(outcome.error ?? ''))) turnedAway++
    else failed++
  }
  const answered = outcomes.filter((outcome) => outcome.status !== undefined)
  const db = new Database(String(store.AUDIT_DB_PATH), { readonly: true })
  const completed = new Set((db.prepare("SELECT audit_id FROM audit_records WHERE stage = 'completed'").all() as Array<{ audit_id: string }>).map((row) => row.audit_id))
  db.close()
  const audited = answered.filter((outcome) => completed.has(String(outcome.headers?.['audit-id']))).length
  const log = await readFile(proxy.child.log, 'utf8')
  return {
    rate, delayMs, sent: outcomes.length,
    inFlightAtSigterm: outcomes.filter((outcome) => before(outcome) && outcome.sentAtMs + outcome.latencyMs > sigtermAtMs).length,
    answered: answered.length, failed, turnedAway, audited,
    auditLogLines: log.split('\n').filter((line) => line.includes('"stage":"completed"')).length,
    exitCode: exit.code, closeMs,
    errorCodes: [...codes].map(([code, count]) => `${code} × ${count}`).join(', ')
  }
}
