// The process logger redacts; the audit lines' logger skips that pass because no redacted path
// can name a field of an audit line. These tests hold the audit records to that, with every
// kind of request the proxy audits, and check both loggers do what they say.
import { tracingChannel } from 'node:diagnostics_channel'
import { Writable } from 'node:stream'
import t from 'tap'
import type { FastifyBaseLogger } from 'fastify'
import { pino, type LoggerOptions } from 'pino'
import { auditLineLogger, createLogger, writeAuditLine } from '../src/logger.js'
import { buildTestApp } from './helpers/app.js'
import { startTestSimulator } from './helpers/simulator.js'

function capture (): { destination: Writable, text: () => string, lines: () => Array<Record<string, unknown>> } {
  const chunks: string[] = []
  const destination = new Writable({ write (chunk: Buffer, _encoding, callback) { chunks.push(chunk.toString()); callback() } })
  return { destination, text: () => chunks.join(''), lines: () => chunks.join('').split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as Record<string, unknown>) }
}

t.test('the process logger redacts credentials; the audit lines\' logger writes at info whatever the level', async (t) => {
  const sink = capture()
  const logger = createLogger({ level: 'error', destination: sink.destination })
  logger.error({ headers: { authorization: 'Basic c2VjcmV0Og==' }, token: 'secret' }, 'redacted')
  auditLineLogger(logger).info({ audit: { stage: 'received' } }, 'audit')
  t.same(sink.lines().map((line) => [line.msg, line.headers, line.token, line.audit]), [
    ['redacted', { authorization: '[redacted]' }, '[redacted]', undefined],
    ['audit', undefined, undefined, { stage: 'received' }]
  ])
})

t.test('redaction would leave every audit line as it is', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url)
  // Field and parameter names a redacted path could match, where a caller chooses names.
  const named = ['authorization', 'cookie', 'token', 'password', 'secret', 'download_url', 'view_url', 'headers']
  const run = await proxy.inject({
    method: 'POST',
    url: '/api/v1/computations',
    payload: {
      capsule_id: simulator.capsules.analysis,
      parameters: ['p'],
      named_parameters: named.map((name) => ({ param_name: name, value: 'v' }))
    }
  })
  t.equal(run.statusCode, 200)
  const { id } = JSON.parse(run.body) as { id: string }
  await proxy.inject({ method: 'GET', url: `/api/v1/computations/${id}` })
  await proxy.inject({ method: 'GET', url: `/api/v1/computations/${id}/results/urls?path=token` })
  await proxy.inject({ method: 'PATCH', url: `/api/v1/computations/${id}?name=secret` })
  await proxy.inject({ method: 'GET', url: `/api/v1/computations/${id}` }, null)
  await proxy.inject({ method: 'GET', url: '/api/v1/nowhere' })
  await proxy.inject({ method: 'GET', url: '/api/v1/computations/%zz' })
  const lines = proxy.log.lines().filter((line) => line.audit !== undefined)
  t.equal(lines.length, 9, 'both lines of each of the two mutations (the run and the rename), the completed one of the five others')
  t.same(Object.keys(proxy.log.audits()[0]?.sensitive.named_parameters as object).sort(), [...named].sort(), 'names a caller chose are in a record')

  const redacted = capture()
  const redacting = createLogger({ level: 'info', destination: redacted.destination })
  const plain = capture()
  const notRedacting = pino({ base: null, timestamp: false }, plain.destination)
  for (const { requestId, audit } of lines) {
    redacting.info({ requestId, audit }, 'audit')
    notRedacting.info({ requestId, audit }, 'audit')
  }
  t.same(redacted.lines().map((line) => line.audit), plain.lines().map((line) => line.audit))
  t.same(redacted.lines().map((line) => line.audit), lines.map((line) => line.audit), 'and nothing was redacted')
})

t.test('an audit line written from the record\'s JSON is the line pino writes from the record', async (t) => {
  const record = { auditId: 'a-1', requestId: 'r-1', stage: 'completed', resource: { computation_id: 'c"\u2028' }, status: 200, upstreamMs: null, note: 'é' }
  const fixedTime = (): string => ',"time":1767312000000'
  const lineOf = (write: (log: FastifyBaseLogger) => void, options: LoggerOptions = {}): string => {
    const sink = capture()
    write(auditLineLogger(pino({ base: { service: 'codeocean-proxy' }, timestamp: fixedTime, ...options }, sink.destination)))
    return sink.text()
  }
  const byPino = lineOf((log) => { log.info({ requestId: 'r-1', audit: record }, 'audit') })
  t.equal(lineOf((log) => { writeAuditLine(log, 'r-1', record, JSON.stringify(record)) }), byPino, 'byte for byte')
  t.match(lineOf((log) => { writeAuditLine(log, 'r-1', record, '{"given":1}') }), /,"audit":\{"given":1\},/, 'the JSON given is what is written')
  t.match(JSON.parse(byPino), { level: 30, service: 'codeocean-proxy', requestId: 'r-1', audit: record, msg: 'audit' })

  // A logger that would reshape the line gets the record through pino.
  const reshaping: Record<string, LoggerOptions> = {
    mixin: { mixin: () => ({ extra: 1 }) },
    'a log method hook': { hooks: { logMethod (args, method) { method.apply(this, [args[0], `hooked:${String(args[1])}`]) } } },
    'a message prefix': { msgPrefix: '[proxy] ' },
    'a nested key': { nestedKey: 'payload' },
    'the error key': { errorKey: 'audit', serializers: { err: () => 'serialized' } },
    'a log formatter': { formatters: { log: (object) => ({ ...object, formatted: true }) } }
  }
  for (const [name, options] of Object.entries(reshaping)) {
    const viaPino = lineOf((log) => { log.info({ requestId: 'r-1', audit: record }, 'audit') }, options)
    t.equal(lineOf((log) => { writeAuditLine(log, 'r-1', record, '{"not":"used"}') }, options), viaPino, name)
    t.not(viaPino, byPino, `${name} reshapes the line`)
  }
  // Nor a line whose serializing someone listens to (an APM agent, say).
  const lines = tracingChannel('pino_asJson')
  const heard: unknown[] = []
  const listener = { start: (message: unknown) => { heard.push(message) }, end () {}, asyncStart () {}, asyncEnd () {}, error () {} }
  lines.subscribe(listener)
  try {
    t.equal(lineOf((log) => { writeAuditLine(log, 'r-1', record, '{"not":"used"}') }), byPino)
    t.equal(heard.length, 1, 'the listener heard the line')
  } finally {
    lines.unsubscribe(listener)
  }
  const quiet = capture()
  writeAuditLine(pino({ level: 'warn' }, quiet.destination), 'r-1', record, JSON.stringify(record))
  t.equal(quiet.text(), '', 'nothing below the logger\'s level')
})
