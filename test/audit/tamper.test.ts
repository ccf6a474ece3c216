// Tampering by someone who can write the database but does not hold the audit key, each done the
// way such an insider would, and what verification says of it: a rewritten and re-chained
// history, a made-up chain, an edited search column, and (given the log's checkpoints) a cut-off
// tail or a deleted chain. Chains from before links were keyed still verify, and say so.
import { createSecretKey } from 'node:crypto'
import { once } from 'node:events'
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import t, { type Test } from 'tap'
import { chainAnchor, checkpointMac, linkHash } from '../../src/audit/chain.js'
import { AuditTrail } from '../../src/audit/trail.js'
import { checkpointsIn, verifyAuditTrail } from '../../src/audit/verify.js'
import { openSqliteDatabase } from '../../src/store/sqlite-database.js'
import type { AuditRow } from '../../src/store/store.js'
import { buildTestApp, type TestApp } from '../helpers/app.js'
import { createLogSink } from '../helpers/log-sink.js'
import { TEST_CHAIN_KEY, TEST_CHAIN_KEYS, TEST_HMAC_KEY } from '../helpers/secrets.js'
import { startTestSimulator } from '../helpers/simulator.js'
import { spawnChild } from '../helpers/spawn-child.js'

interface Written { path: string, log: string, rows: AuditRow[] }

/** A SQLite trail written by the real app: alice runs and renames, bob reads, then `more`; then closed. */
async function writtenTrail (t: Test, more?: (proxy: TestApp, alice: Record<string, string>, computationId: string) => Promise<void>): Promise<Written> {
  const directory = await mkdtemp(join(tmpdir(), 'codeocean-proxy-tamper-'))
  t.teardown(() => rm(directory, { recursive: true, force: true }))
  const path = join(directory, 'audit.sqlite')
  const store = openSqliteDatabase(path)
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, {}, { store })
  const alice = { 'x-forwarded-user': 'alice@example.com', 'x-forwarded-groups': 'proxy-admins' }
  const bob = { 'x-forwarded-user': 'bob@example.com', 'x-forwarded-groups': 'proxy-admins' }
  const run = await proxy.inject({ method: 'POST', url: '/api/v1/computations', payload: { capsule_id: simulator.capsules.analysis } }, alice)
  const id = String(run.json().id)
  await proxy.inject({ method: 'PATCH', url: `/api/v1/computations/${id}?name=mine` }, alice)
  await proxy.inject({ method: 'GET', url: `/api/v1/computations/${id}` }, bob)
  await more?.(proxy, alice, id)
  await proxy.app.close()
  const [instance] = await store.chainInstances()
  const rows = await store.readChain(String(instance), 0, 100)
  await store.close()
  return { path, log: proxy.log.text(), rows }
}

function edit (path: string, work: (db: Database.Database) => void): void {
  const db = new Database(path)
  try {
    work(db)
  } finally {
    db.close()
  }
}

const INSERT = `INSERT INTO audit_records (instance_id, seq, audit_id, stage, recorded_at, body, prev_hash, hash, action, computation_id, capsule_id, pipeline_id, status, actor)
  VALUES (@instanceId, @seq, @auditId, @stage, @recordedAt, @body, @prevHash, @hash, @action, @computationId, @capsuleId, @pipelineId, @status, @actor)`

async function verify (path: string, options: Parameters<typeof verifyAuditTrail>[1] = { keys: TEST_CHAIN_KEYS }): ReturnType<typeof verifyAuditTrail> {
  const store = openSqliteDatabase(path)
  try {
    return await verifyAuditTrail(store, options)
  } finally {
    await store.close()
  }
}

t.test('untouched, the trail verifies with the key, and not without it', async (t) => {
  const { path, rows } = await writtenTrail(t)
  t.same(await verify(path), { chains: 1, records: rows.length })
  t.match(await verify(path, {}), { broken: { seq: 1, reason: /give the audit key/ } })
})

t.test('a user\'s records rewritten and the chain recomputed without the key do not verify', async (t) => {
  const { path, rows } = await writtenTrail(t)
  // The insider blames bob for alice's run, then relinks every record as the old format did.
  edit(path, (db) => {
    let prevHash = chainAnchor(String(rows[0]?.instanceId))
    for (const row of rows) {
      const body = row.body.replaceAll('alice@example.com', 'bob@example.com')
      const hash = linkHash(prevHash, row.seq, body)
      db.prepare('UPDATE audit_records SET body = ?, prev_hash = ?, hash = ?, actor = REPLACE(actor, \'alice\', \'bob\') WHERE instance_id = ? AND seq = ?')
        .run(body, prevHash, hash, row.instanceId, row.seq)
      prevHash = hash
    }
  })
  t.match(await verify(path), { broken: { seq: 1, reason: /the chain is unkeyed/ } })
})

t.test('a made-up chain inserted beside the real one does not verify', async (t) => {
  const { path } = await writtenTrail(t)
  const instanceId = 'forged-instance'
  const body = JSON.stringify({ action: 'deleteComputation', actor: { subject: 'bob@example.com' }, auditId: 'a-forged', instanceId, recordedAt: '2026-12-01T00:00:00.000Z', seq: 1, stage: 'received' })
  // With a key of the insider's own making, in the keyed format.
  const guessed = createSecretKey(Buffer.alloc(32, 1))
  const prevHash = chainAnchor(instanceId, guessed)
  edit(path, (db) => db.prepare(INSERT).run({
    instanceId, seq: 1, auditId: 'a-forged', stage: 'received', recordedAt: '2026-12-01T00:00:00.000Z', body, prevHash,
    hash: linkHash(prevHash, 1, body, guessed), action: 'deleteComputation', computationId: null, capsuleId: null, pipelineId: null, status: null, actor: 'bob@example.com'
  }))
  t.match(await verify(path), { broken: { instanceId, seq: 1, reason: /anchor/ } })
})

t.test('an edited search column (actor, computation, capsule, pipeline, action, status, resumed run) does not verify', async (t) => {
  for (const [column, value] of [
    ['actor', 'mallory@example.com'], ['computation_id', '00000000-0000-4000-8000-000000000000'], ['capsule_id', '00000000-0000-4000-8000-000000000002'],
    ['pipeline_id', '00000000-0000-4000-8000-000000000003'], ['action', 'getComputation'], ['status', 500], ['recorded_at', '2020-01-01T00:00:00.000Z'],
    ['resume_run_id', '00000000-0000-4000-8000-000000000001']
  ] as const) {
    const { path, rows } = await writtenTrail(t)
    const target = rows.find((row) => row.stage === 'completed' && row.action === 'runCapsule') as AuditRow
    edit(path, (db) => db.prepare(`UPDATE audit_records SET ${column} = ? WHERE seq = ?`).run(value, target.seq))
    t.match(await verify(path), { broken: { seq: target.seq, reason: /indexed fields do not match/ } }, column)
  }
})

t.test('with the log\'s checkpoints, a cut-off tail or a deleted chain is found; without them it is not', async (t) => {
  const { path, log, rows } = await writtenTrail(t)
  const pathOfIntact = `${path}.intact`
  await copyFile(path, pathOfIntact)
  const malformed = [
    '{"auditCheckpoint": {"instanceId": "cut-off by a cra', '{"auditCheckpoint": null}', '{"auditCheckpoint": {"instanceId": 7}}',
    '{"auditCheckpoint": {"instanceId": "i", "seq": "7"}}', '{"auditCheckpoint": {"instanceId": "i", "seq": 7, "hash": 7}}',
    '{"auditCheckpoint": {"instanceId": "i", "seq": 7, "hash": "h", "mac": 7}}'
  ]
  const checkpoints = checkpointsIn(`${log}${malformed.join('\n')}\n`)
  t.equal(checkpoints.length, 1, 'closing wrote one checkpoint; a line cut short or malformed vouches for nothing')
  const [firstRow] = rows
  const older = { instanceId: String(firstRow?.instanceId), seq: 1, hash: String(firstRow?.hash) }
  const both = [...checkpoints, { ...older, mac: checkpointMac(TEST_CHAIN_KEY, older.instanceId, older.seq, older.hash) }]
  t.same(await verify(path, { keys: TEST_CHAIN_KEYS, checkpoints: both }), { chains: 1, records: rows.length }, 'of several checkpoints of a chain, the latest counts')
  t.match(checkpoints[0], { seq: rows.length, hash: rows.at(-1)?.hash })
  t.same(await verify(path, { keys: TEST_CHAIN_KEYS, checkpoints }), { chains: 1, records: rows.length }, 'intact, it agrees with them')

  edit(path, (db) => db.prepare('DELETE FROM audit_records WHERE seq > ?').run(rows.length - 2))
  t.same(await verify(path), { chains: 1, records: rows.length - 2 }, 'a cut-off tail is not seen from the chain alone')
  t.match(await verify(path, { keys: TEST_CHAIN_KEYS, checkpoints }), { broken: { seq: rows.length, reason: new RegExp(`records ${rows.length - 1} to ${rows.length} are missing from the end`) } })
  t.match(await verify(path, { keys: TEST_CHAIN_KEYS, checkpoints: both }), { broken: { seq: rows.length, reason: /missing from the end/ } }, 'the latest checkpoint counts, whatever their order')

  edit(path, (db) => db.prepare('DELETE FROM audit_records').run())
  t.match(await verify(path, { keys: TEST_CHAIN_KEYS, checkpoints }), { broken: { reason: /the whole chain is missing/ } })

  const other = { instanceId: String(checkpoints[0]?.instanceId), seq: 1, hash: 'v2:another-history' }
  t.match(await verify(pathOfIntact, { keys: TEST_CHAIN_KEYS, checkpoints: [{ ...other, mac: checkpointMac(TEST_CHAIN_KEY, other.instanceId, other.seq, other.hash) }] }),
    { broken: { seq: 1, reason: /the record a checkpoint vouches for is not the one stored/ } }, 'a chain replaced by another history (a restored backup) is found')

  const forged = checkpoints.map((checkpoint) => ({ ...checkpoint, seq: checkpoint.seq - 2 }))
  t.match(await verify(path, { keys: TEST_CHAIN_KEYS, checkpoints: forged }), { broken: { reason: /checkpoint in the log does not verify/ } }, 'an edited checkpoint is refused')
})

t.test('a chain written before links were keyed verifies only when asked to, and says so', async (t) => {
  const directory = await mkdtemp(join(tmpdir(), 'codeocean-proxy-legacy-'))
  t.teardown(() => rm(directory, { recursive: true, force: true }))
  const path = join(directory, 'audit.sqlite')
  const store = openSqliteDatabase(path)
  const legacy = new AuditTrail({ store, log: createLogSink().logger, instanceId: 'legacy' })
  legacy.append('received', 'a1', { action: 'runCapsule', resource: { resume_run_id: 'an-earlier-run' } })
  legacy.append('completed', 'a1', { action: 'runCapsule', status: 200 })
  await legacy.close()
  await store.close()
  // Written before the resume_run_id column existed, it held nothing there.
  edit(path, (db) => db.prepare('UPDATE audit_records SET resume_run_id = NULL').run())
  t.match(await verify(path), { broken: { seq: 1, reason: /the chain is unkeyed/ } })
  t.same(await verify(path, { keys: TEST_CHAIN_KEYS, allowUnkeyed: true }), { chains: 1, records: 2, unkeyed: 2 })
})

// Four processes, each compiling the TypeScript it runs: slow on a busy machine, hence the bound.
t.test('the audit:verify command: OK with the key, BROKEN without it, and checkpoints from a log file', { timeout: 180_000 }, async (t) => {
  const { path, log, rows } = await writtenTrail(t)
  const logFile = `${path}.log`
  await writeFile(logFile, log)
  const command = async (args: string[], env: Record<string, string>): Promise<{ code: number | null, stdout: string }> => {
    const child = spawnChild(process.execPath, ['--import', 'tsx', 'src/cli/audit-verify.ts', ...args], { AUDIT_DB_PATH: path, ...env })
    let stdout = ''
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
    const [code] = await once(child, 'exit') as [number | null]
    return { code, stdout }
  }
  const ok = await command(['--checkpoints', logFile], { AUDIT_HMAC_KEY: TEST_HMAC_KEY })
  t.equal(ok.code, 0)
  t.equal(ok.stdout, `OK: ${rows.length} audit records in 1 chains verify, and nothing a checkpoint vouches for is missing\n`)
  const keyless = await command([], {})
  t.equal(keyless.code, 1)
  t.match(keyless.stdout, /^BROKEN: chain \S+, record 1 \(audit id \S+\): the chain is keyed: give the audit key/)
  edit(path, (db) => db.prepare('DELETE FROM audit_records WHERE seq = ?').run(rows.length))
  const cut = await command(['--checkpoints', logFile], { AUDIT_HMAC_KEY: TEST_HMAC_KEY })
  t.equal(cut.code, 1)
  t.match(cut.stdout, new RegExp(`^BROKEN: chain \\S+, record ${rows.length}: records ${rows.length} to ${rows.length} are missing from the end`))
  t.equal((await command(['--bogus'], {})).code, 2, 'a usage error')
})

t.test('after a key rotation, each chain and checkpoint verifies under its own key, and a chain under one key only', async (t) => {
  const { path, log, rows } = await writtenTrail(t)
  const older = createSecretKey(Buffer.alloc(32, 9))
  const checkpoints = checkpointsIn(log)
  t.same(await verify(path, { keys: [older, TEST_CHAIN_KEY], checkpoints }), { chains: 1, records: rows.length }, 'the current key need not come first')
  // An insider who learnt a retired key relinks the last record under it.
  const last = rows.at(-1) as AuditRow
  edit(path, (db) => db.prepare('UPDATE audit_records SET hash = ? WHERE seq = ?').run(linkHash(last.prevHash, last.seq, last.body, older), last.seq))
  t.match(await verify(path, { keys: [older, TEST_CHAIN_KEY] }), { broken: { seq: last.seq, reason: /content does not match its hash/ } }, 'a link under another key breaks the chain')
})

t.test('a resumed run\'s search column cleared does not verify, though a chain from before the column may hold it empty', async (t) => {
  let resumedFrom = ''
  const { path, rows } = await writtenTrail(t, async (proxy, alice, id) => {
    resumedFrom = id
    const { capsule_id: capsuleId } = (await proxy.inject({ method: 'GET', url: `/api/v1/computations/${id}` }, alice)).json()
    await proxy.inject({ method: 'POST', url: '/api/v1/computations', payload: { capsule_id: capsuleId, resume_run_id: id } }, alice)
  })
  const resumed = rows.filter((row) => row.resumeRunId === resumedFrom)
  t.same(resumed.map((row) => row.stage), ['received', 'completed'], 'both records of the resumed run are searchable by the run it resumes')
  t.same(await verify(path), { chains: 1, records: rows.length })
  // An insider hides that the run built on another: the column no longer finds it.
  edit(path, (db) => db.prepare('UPDATE audit_records SET resume_run_id = NULL WHERE seq = ?').run(resumed[1]?.seq))
  t.match(await verify(path), { broken: { seq: resumed[1]?.seq, reason: /indexed fields do not match/ } })
})

t.test('a checkpoint older than the start of a chain that retention pruned is no gap', async (t) => {
  const { path, log, rows } = await writtenTrail(t)
  const [firstRow] = rows
  const early = { instanceId: String(firstRow?.instanceId), seq: 1, hash: String(firstRow?.hash) }
  const checkpoints = [{ ...early, mac: checkpointMac(TEST_CHAIN_KEY, early.instanceId, early.seq, early.hash) }]
  t.same(await verify(path, { keys: TEST_CHAIN_KEYS, checkpoints }), { chains: 1, records: rows.length })
  // Retention deletes the oldest records: the one the checkpoint vouched for is gone, lawfully.
  edit(path, (db) => db.prepare('DELETE FROM audit_records WHERE seq <= 2').run())
  t.same(await verify(path, { keys: TEST_CHAIN_KEYS, checkpoints }), { chains: 1, records: rows.length - 2 }, 'an early checkpoint')
  t.same(await verify(path, { keys: TEST_CHAIN_KEYS, checkpoints: checkpointsIn(log) }), { chains: 1, records: rows.length - 2 }, 'and the closing one, still within the chain')
})
