// Graceful shutdown under load: the proxy (SQLite file) gets SIGTERM while slow upstream answers
// keep requests in flight; every request sent before it must be answered, and every answer audited.
import { readFile } from 'node:fs/promises'
import Database from 'better-sqlite3'
import { stopChild } from './children.js'
import { fixedRate, type Outcome, type RequestSpec } from './load.js'
import { basic, getSpec, runSpec, seedComputation, serviceKey, slowUpstream, sqliteStore, startProxy, type Bench } from './targets.js'

export interface Shutdown {
  rate: number
  delayMs: number
  sent: number
  /** Sent before SIGTERM and answered after it (seen from the client). */
  openAtSigterm: number
  /** Requests the proxy took in: an audit record carries their X-Request-Id, or the caller got an answer. */
  accepted: number
  /** Accepted and not answered, or answered 5xx. */
  failed: number
  /** Accepted, answered, and with a `completed` audit record. */
  audited: number
  /** Never taken in: connection refused, or reset while closing. */
  turnedAway: number
  answered: number
  auditLogLines: number
  exitCode: number | null
  closeMs: number
  errorCodes: string
}

/** Reads and runs alternately at `rate` for `seconds`, upstream answers `delayMs` late, SIGTERM halfway. */
export async function shutdownUnderLoad (bench: Bench, rate: number, seconds: number, delayMs: number): Promise<Shutdown> {
  const store = sqliteStore(bench)
  // The proxy makes its database; the key is made in it afterwards, as an operator would.
  const proxy = await startProxy(bench, store)
  const headers = { authorization: basic(await serviceKey(store)) }
  const outcomes: Outcome[] = []
  let sigtermAtMs = Number.POSITIVE_INFINITY
  let closeMs = Number.NaN
  let exit: { code: number | null } = { code: null }
  try {
    const id = await seedComputation(proxy.url, headers)
    const get = getSpec(id, headers)
    const run = runSpec(headers)
    const withId = (spec: RequestSpec, index: number): RequestSpec => ({ ...spec, headers: { ...spec.headers, 'x-request-id': `bench-shutdown-${index}` } })
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
    await fixedRate(proxy.url, { rate, seconds, request: (index) => withId(index % 2 === 0 ? get : run, index), onOutcome: (outcome) => outcomes.push(outcome) })
    await stopped
  } finally {
    await slowUpstream(bench, undefined)
    await stopChild(proxy.child.process)
  }
  // Whether the proxy took a request in is its own audit trail's word, not the client's clock.
  const db = new Database(String(store.AUDIT_DB_PATH), { readonly: true })
  const stages = db.prepare("SELECT stage, json_extract(body, '$.requestId') AS requestId FROM audit_records").all() as Array<{ stage: string, requestId: string }>
  db.close()
  const received = new Set(stages.filter((row) => row.stage === 'received').map((row) => row.requestId))
  const completed = new Set(stages.filter((row) => row.stage === 'completed').map((row) => row.requestId))
  let failed = 0
  let audited = 0
  let turnedAway = 0
  const codes = new Map<string, number>()
  for (const outcome of outcomes) {
    const id = `bench-shutdown-${outcome.index}`
    // A run has its received record from the start; a read has one record, written once it ends.
    const taken = received.has(id) || completed.has(id) || outcome.status !== undefined
    const label = `${taken ? 'taken in' : 'not taken in'}, sent ${outcome.sentAtMs < sigtermAtMs ? 'before' : 'after'} SIGTERM: ${outcome.error ?? String(outcome.status)}`
    codes.set(label, (codes.get(label) ?? 0) + 1)
    if (!taken) turnedAway++
    else if (outcome.status === undefined || outcome.status >= 500) failed++
    else if (completed.has(id)) audited++
  }
  const answered = outcomes.filter((outcome) => outcome.status !== undefined)
  const log = await readFile(proxy.child.log, 'utf8')
  return {
    rate, delayMs, sent: outcomes.length,
    openAtSigterm: outcomes.filter((outcome) => outcome.sentAtMs < sigtermAtMs && outcome.sentAtMs + outcome.latencyMs > sigtermAtMs).length,
    accepted: outcomes.length - turnedAway, answered: answered.length, failed, turnedAway, audited,
    auditLogLines: log.split('\n').filter((line) => line.includes('"stage":"completed"')).length,
    exitCode: exit.code, closeMs,
    errorCodes: [...codes].map(([code, count]) => `${code} × ${count}`).join(', ')
  }
}
