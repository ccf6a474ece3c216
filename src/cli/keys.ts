#!/usr/bin/env node
// `codeocean-proxy-keys` (`npm run keys` in a checkout): creates, lists and revokes the service
// keys that scripts and the SDK call the proxy with, in the store the proxy uses (DATABASE_URL,
// or the SQLite file at AUDIT_DB_PATH).
import { realpathSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { Environment, storeConfigFrom, type Config } from '../config.js'
import { inKeyNamespace, KEY_NAMESPACE } from '../identity/identity.js'
import { createServiceKey } from '../identity/service-keys.js'
import { IDENTITY_VALUE } from '../identity/trusted-headers.js'
import { missingDatabase, openStore } from '../store/open.js'
import { StoreError, type KeyStore, type ServiceKeyRow, type Store } from '../store/store.js'

export const USAGE = `Usage: codeocean-proxy-keys <command>      (in a checkout: npm run keys -- <command>)

Manages the service keys scripts and the SDK present to the proxy, in the store the proxy uses:
PostgreSQL at DATABASE_URL if it is set, else the SQLite file at AUDIT_DB_PATH
(default ${String(Environment.properties.AUDIT_DB_PATH.default)}), which the proxy makes when it
first starts: a file that is not there is refused, never made.

Commands:
  create --subject <subject> [--as-person] [--group <group>]... [--groups <a,b>] [--description <text>] [--expires <when>]
      Makes a key and prints it alone on stdout; it is shown once, so store it now.
      The key proves key:<subject>, a namespace no person can enter, so it owns only the
      computations it starts and policy rules name it as key:<subject>. With --as-person it
      proves <subject> itself, the person of that name at the gateway: their computations are
      its, and theirs its. Make such a key only for that person's own scripts.
      <when> is a future ISO-8601 date (midnight UTC), a date-time with Z or an offset
      (2030-06-30T18:00:00Z), or a duration from now: 90d, 12h.
  list [--json]
      Every key: id, subject, groups, created, expires, last used, status (and whether it is
      one of npm run demo's, which only the demo accepts). Never a secret.
  revoke <key-id>
      Refuses the key on every proxy instance sharing the store: at once with PostgreSQL,
      within SERVICE_KEY_CACHE_MS (1 s by default) with SQLite.
  help
      Shows this text.
`

/** Where the command writes and what it reads: the process's own, or a test's. */
export interface KeysCommandIo {
  stdout: { write (text: string): unknown }
  stderr: { write (text: string): unknown }
  env: Readonly<Record<string, string | undefined>>
  /** The clock expiries are computed and judged against. */
  now?: Date
  /** Opens the configured store; tests may stand in a failing one. */
  openStore?: (settings: Config['store']) => Promise<Store>
}

const MAX_GROUPS = 256
/** Free text, but one line of it: it is printed in a table. */
const DESCRIPTION = /^[^\p{Cc}]{1,1000}$/u
const KEY_ID = /^[0-9a-f]{16}$/
const DURATION = /^([1-9]\d{0,5})([dh])$/
const HOUR_MS = 3_600_000
/** A date-time must carry its zone: an expiry must not depend on the clock of the machine it was typed on. */
const ISO_DATE = /^(\d{4}-\d{2}-\d{2})(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:\d{2}))?$/

/** A mistake in the command line: reported in one line, with the usage when the command itself is wrong. */
class UsageError extends Error {
  readonly showUsage: boolean

  constructor (message: string, showUsage = false) {
    super(message)
    this.showUsage = showUsage
  }
}

/** Runs one command; returns the exit code: 0 done, 1 refused or the store failed, 2 bad command line. */
export async function runKeysCommand (argv: readonly string[], io: KeysCommandIo): Promise<number> {
  const [command, ...rest] = argv
  if (command === 'help' || command === '--help' || command === '-h') {
    io.stdout.write(USAGE)
    return 0
  }
  let action: Action
  try {
    action = prepare(command, rest, io, io.now ?? new Date())
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    io.stderr.write(`keys: ${error.message}\n${error.showUsage ? `\n${USAGE}` : ''}`)
    return 2
  }
  const settings = storeConfigFrom(io.env)
  if (typeof settings === 'string') {
    io.stderr.write(`keys: ${settings}\n`)
    return 1
  }
  const missing = missingDatabase(settings)
  if (missing !== undefined) {
    io.stderr.write(`keys: ${missing}\n`)
    return 1
  }
  const where = settings.kind === 'postgres' ? 'the PostgreSQL database at DATABASE_URL' : `the SQLite file ${settings.path}`
  try {
    const store = await (io.openStore ?? openStore)(settings)
    try {
      return await action(store, where)
    } finally {
      await store.close()
    }
  } catch (error) {
    if (!(error instanceof StoreError)) throw error
    // The message names the operation only: the URL, which may hold a password, is never echoed.
    const code = (error.cause as { code?: unknown } | undefined)?.code
    io.stderr.write(`keys: ${error.message}${typeof code === 'string' ? ` (${code})` : ''}; check ${settings.kind === 'postgres' ? 'DATABASE_URL' : 'AUDIT_DB_PATH'}\n`)
    return 1
  }
}

/** A checked command, waiting for the store; `where` names the store for an operator. */
type Action = (store: KeyStore & Pick<Store, 'kind'>, where: string) => Promise<number>

/** Checks the whole command line before the store is opened, so a mistake stores nothing. */
function prepare (command: string | undefined, args: string[], io: KeysCommandIo, now: Date): Action {
  switch (command) {
    case 'create': return prepareCreate(args, io, now)
    case 'list': return prepareList(args, io, now)
    case 'revoke': return prepareRevoke(args, io, now)
    case undefined: throw new UsageError('a command is needed', true)
    default: throw new UsageError(`unknown command ${JSON.stringify(command)}`, true)
  }
}

/** parseArgs is strict by default: an unknown option or a stray argument throws, and is reported as a usage error. */
function parsed<T> (parse: () => T): T {
  try {
    return parse()
  } catch (error) {
    throw new UsageError((error as Error).message, true)
  }
}

function prepareCreate (args: string[], io: KeysCommandIo, now: Date): Action {
  const { values } = parsed(() => parseArgs({
    args,
    options: {
      subject: { type: 'string' },
      group: { type: 'string', multiple: true },
      groups: { type: 'string', multiple: true },
      description: { type: 'string' },
      expires: { type: 'string' },
      'as-person': { type: 'boolean' }
    }
  }))
  const { subject, description } = values
  const asPerson = values['as-person'] === true
  if (subject === undefined) throw new UsageError('create needs --subject <subject>: who the key speaks for')
  if (!IDENTITY_VALUE.test(subject)) throw new UsageError('--subject must be 1 to 256 printable ASCII characters, without spaces at either end')
  if (inKeyNamespace(subject)) {
    throw new UsageError(`--subject is given without ${KEY_NAMESPACE}: the key proves ${KEY_NAMESPACE}<subject> anyway, or <subject> itself with --as-person`)
  }
  // With its namespace, a subject is still at most 256 characters, as every subject is.
  if (!asPerson && subject.length > 256 - KEY_NAMESPACE.length) throw new UsageError(`--subject must be at most ${256 - KEY_NAMESPACE.length} characters, so that ${KEY_NAMESPACE}<subject> is at most 256`)
  const groups = groupsOf([...values.group ?? [], ...(values.groups ?? []).flatMap((list) => list.split(','))])
  if (description !== undefined && !DESCRIPTION.test(description)) {
    throw new UsageError('--description must be 1 to 1000 characters, without control characters')
  }
  const expiresAt = values.expires === undefined ? undefined : expiryOf(values.expires, now)

  return async (store, where) => {
    const { key, row } = await createServiceKey(store, {
      subject,
      asPerson,
      groups,
      ...(description === undefined ? {} : { description }),
      ...(expiresAt === undefined ? {} : { expiresAt })
    }, now)
    // The key alone on stdout, so `KEY=$(npm run -s keys -- create …)` captures exactly it.
    io.stdout.write(`${key}\n`)
    io.stderr.write([
      `created service key ${row.keyId} in ${where}`,
      `  subject:     ${row.subject}${asPerson ? ' (acts as this person)' : ''}`,
      `  groups:      ${row.groups.length === 0 ? 'none' : row.groups.join(', ')}`,
      ...(row.description === null ? [] : [`  description: ${row.description}`]),
      `  expires:     ${row.expiresAt ?? 'never'}`,
      'shown once: store it now; the proxy keeps only its hash.',
      'Send it as a Bearer token, or as the Code Ocean SDK\'s token (the Basic username).',
      ''
    ].join('\n'))
    return 0
  }
}

function groupsOf (given: string[]): string[] {
  const groups = [...new Set(given.map((group) => group.trim()))]
  const bad = groups.find((group) => !IDENTITY_VALUE.test(group) || group.includes(','))
  if (bad !== undefined) throw new UsageError(`group ${JSON.stringify(bad)} must be 1 to 256 printable ASCII characters, without commas or spaces at either end`)
  if (groups.length > MAX_GROUPS) throw new UsageError(`at most ${MAX_GROUPS} groups`)
  return groups
}

function expiryOf (text: string, now: Date): Date {
  const duration = DURATION.exec(text)
  if (duration !== null) {
    return new Date(now.getTime() + Number(duration[1]) * (duration[2] === 'd' ? 24 : 1) * HOUR_MS)
  }
  const date = ISO_DATE.exec(text)?.[1]
  const at = new Date(text)
  // Date parsing rolls 2030-02-30 over into March: the calendar date must come back unchanged.
  if (date === undefined || Number.isNaN(at.getTime()) || new Date(`${date}T00:00:00Z`).toISOString().slice(0, 10) !== date) {
    throw new UsageError(`--expires ${JSON.stringify(text)} is neither an ISO-8601 date (2030-06-30), a date-time with Z or an offset, nor a duration such as 90d or 12h`)
  }
  if (at.getTime() <= now.getTime()) throw new UsageError(`--expires ${text} is not in the future (now is ${now.toISOString()})`)
  return at
}

type KeyStatus = 'active' | 'revoked' | 'expired'

function statusOf (row: ServiceKeyRow, now: Date): KeyStatus {
  if (row.revokedAt !== null) return 'revoked'
  // The same rule as authentication: a key is refused from the instant it expires.
  return row.expiresAt !== null && Date.parse(row.expiresAt) <= now.getTime() ? 'expired' : 'active'
}

function prepareList (args: string[], io: KeysCommandIo, now: Date): Action {
  const { values } = parsed(() => parseArgs({ args, options: { json: { type: 'boolean' } } }))
  return async (store, where) => {
    const rows = await store.listServiceKeys()
    // Field by field, never the row itself: the secret's hash must not leave the store.
    const keys = rows.map((row) => ({
      keyId: row.keyId,
      subject: row.subject,
      asPerson: !inKeyNamespace(row.subject),
      groups: row.groups,
      description: row.description,
      createdAt: row.createdAt,
      expiresAt: row.expiresAt,
      lastUsedAt: row.lastUsedAt,
      revokedAt: row.revokedAt,
      status: statusOf(row, now),
      realm: row.realm
    }))
    if (values.json === true) {
      io.stdout.write(`${JSON.stringify(keys, null, 2)}\n`)
    } else if (keys.length === 0) {
      io.stderr.write(`no service keys in ${where}\n`)
    } else {
      io.stdout.write(table([
        ['KEY ID', 'SUBJECT', 'GROUPS', 'CREATED', 'EXPIRES', 'LAST USED', 'STATUS', 'DESCRIPTION'],
        ...keys.map((key) => [
          key.keyId,
          key.asPerson ? `${key.subject} (as person)` : key.subject,
          key.groups.join(',') || '-',
          shortTime(key.createdAt),
          shortTime(key.expiresAt),
          shortTime(key.lastUsedAt),
          // A demo's key works only with the demo (see service-keys.ts).
          `${key.status === 'revoked' ? `revoked ${shortTime(key.revokedAt)}` : key.status}${key.realm === 'demo' ? ' (demo only)' : ''}`,
          key.description ?? ''
        ])
      ]))
    }
    return 0
  }
}

function shortTime (iso: string | null): string {
  return iso === null ? '-' : iso.replace(/\.\d{3}Z$/, 'Z')
}

function table (rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)))
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd() + '\n').join('')
}

function prepareRevoke (args: string[], io: KeysCommandIo, now: Date): Action {
  const { positionals } = parsed(() => parseArgs({ args, options: {}, allowPositionals: true }))
  const [keyId, ...extra] = positionals
  if (keyId === undefined || extra.length > 0) throw new UsageError('revoke needs exactly one key id', true)
  if (!KEY_ID.test(keyId)) throw new UsageError(`${JSON.stringify(keyId)} is not a key id: 16 hex digits, as \`list\` shows`)
  return async (store, where) => {
    if (await store.revokeServiceKey(keyId, now.toISOString())) {
      io.stdout.write(`revoked ${keyId}\n`)
      // PostgreSQL announces the revocation to every instance; SQLite's read it again within SERVICE_KEY_CACHE_MS.
      io.stderr.write(`Refused by every proxy instance sharing this store ${store.kind === 'postgres' ? 'at once' : 'within SERVICE_KEY_CACHE_MS (1 s by default)'}, with nothing to restart.\n`)
      return 0
    }
    const row = await store.findServiceKey(keyId)
    io.stderr.write(row === undefined
      ? `keys: no service key ${keyId} in ${where}\n`
      : `keys: service key ${keyId} was already revoked at ${row.revokedAt}\n`)
    return 1
  }
}

/** True when `moduleUrl` is the program node was started with, false when a test imports it. */
export function isEntryPoint (moduleUrl: string, argv1: string | undefined): boolean {
  if (argv1 === undefined) return false
  // npm and the image start bins through links: node runs the file a link names, under its own path.
  let program: string
  try {
    program = realpathSync(argv1)
  } catch {
    return false
  }
  return moduleUrl === pathToFileURL(program).href
}

/** The parts of `process` the command line uses. */
export interface Program extends KeysCommandIo {
  argv: string[]
  exitCode?: number | string | null | undefined
}

/** Runs the command line when this module is the program node started, and does nothing when it is imported. */
export async function runAsProgram (moduleUrl: string, program: Program): Promise<void> {
  if (!isEntryPoint(moduleUrl, program.argv[1])) return
  program.exitCode = await runKeysCommand(program.argv.slice(2), program)
}

await runAsProgram(import.meta.url, process)
