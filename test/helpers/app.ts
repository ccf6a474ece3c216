// Builds the real app for one test, pointed at a simulator (or any origin), with its log
// captured; on teardown it closes the app and checks that no secret reached the log. Every
// answer the suite gets through it is also checked against the committed OpenAPI document.
import { fileURLToPath } from 'node:url'
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'
import type { Test } from 'tap'
import { buildApp } from '../../src/app.js'
import { AuditRecordsLostError } from '../../src/audit/trail.js'
import { loadConfig } from '../../src/config.js'
import { openSqliteDatabase } from '../../src/store/sqlite-database.js'
import type { Store } from '../../src/store/store.js'
import type { Tracing } from '../../src/telemetry/tracing.js'
import { createLogSink, type LogSink } from './log-sink.js'
import { conformanceProblems } from './openapi-conformance.js'
import { TEST_HMAC_KEY, TEST_TOKEN, secretForms } from './secrets.js'

/** The caller every test request comes from unless it says otherwise: a gateway user in proxy-admins. */
export const DEFAULT_CALLER: Readonly<Record<string, string>> = { 'x-forwarded-user': 'tester@example.com', 'x-forwarded-groups': 'proxy-admins' }
export const ADMIN_POLICY_FILE = fileURLToPath(new URL('../fixtures/admin-policy.yaml', import.meta.url))

/** What an app built without buildTestApp needs for DEFAULT_CALLER to reach everything. */
export const DEFAULT_ACCESS_ENV: Readonly<Record<string, string>> = { TRUSTED_PROXIES: '127.0.0.1/32', POLICY_FILE: ADMIN_POLICY_FILE }
/**
 * Load shedding off: a test process busy compiling and asserting would otherwise be "overloaded"
 * (test/plugins/overload.test.ts turns it on); and no budget for requests without a credential, which
 * tests make many of (test/plugins/unauthenticated-limits.test.ts turns it on).
 */
export const NO_LOAD_SHEDDING_ENV: Readonly<Record<string, string>> = { OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0', OVERLOAD_MAX_EVENT_LOOP_UTILIZATION: '0', UNAUTHENTICATED_PER_MINUTE: '0' }
/** What a test's proxy runs with unless it says otherwise. */
export const DEFAULT_TEST_ENV: Readonly<Record<string, string>> = { ...DEFAULT_ACCESS_ENV, ...NO_LOAD_SHEDDING_ENV }

export interface TestApp {
  app: FastifyInstance
  log: LogSink
  /** The in-memory SQLite store holding this app's audit trail. */
  store: Store
  /**
   * app.inject as `caller` (headers added under the request's own; null for none), plus checks that the
   * response carries no secret and is what the OpenAPI document promises.
   */
  inject (options: InjectOptions, caller?: Readonly<Record<string, string>> | null): Promise<LightMyRequestResponse>
}

/** A whole service key, or a signed JWT (a gateway assertion): neither may be logged or echoed. */
const CALLER_SECRET_PATTERNS = [/cpx_[0-9a-f]{16}_[A-Za-z0-9_-]{43}/, /eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/]

export function assertNoSecret (t: Test, text: string, where: string): void {
  for (const secret of secretForms(TEST_TOKEN)) {
    if (text.includes(secret)) t.fail(`${where} contains the Code Ocean token`)
  }
  for (const pattern of CALLER_SECRET_PATTERNS) {
    if (pattern.test(text)) t.fail(`${where} contains a caller's credential (${pattern.source.slice(0, 8)}…)`)
  }
}

export async function buildTestApp (t: Test, origin: string, env: Record<string, string> = {}, options: { store?: Store, tracing?: Tracing } = {}): Promise<TestApp> {
  const config = loadConfig({
    CODEOCEAN_DOMAIN: origin,
    CODEOCEAN_TOKEN: TEST_TOKEN,
    UPSTREAM_CONNECT_TIMEOUT_MS: '1000',
    UPSTREAM_HEADERS_TIMEOUT_MS: '2000',
    UPSTREAM_BODY_TIMEOUT_MS: '2000',
    AUDIT_HMAC_KEY: TEST_HMAC_KEY,
    // The simulator finishes a computation in about 200 ms, after which a repeated poll could be
    // answered from memory or not, depending on how busy the machine is: no remembered answers
    // unless a test asks for them (test/upstream/polling.test.ts does).
    POLL_CACHE_MS: '0',
    // Likewise a key revoked by a test is refused at once, not within the second a read row is
    // used for (test/identity/service-key-cache.test.ts tests that).
    SERVICE_KEY_CACHE_MS: '0',
    // app.inject comes from 127.0.0.1: the default caller's gateway headers are trusted.
    ...DEFAULT_TEST_ENV,
    ...env
  })
  const log = createLogSink(config.logLevel)
  const store = options.store ?? openSqliteDatabase(':memory:')
  const app = await buildApp({ config, logger: log.logger, store, ...(options.tracing === undefined ? {} : { tracing: options.tracing }) })
  t.teardown(async () => {
    // A test that broke the store on purpose loses what was still queued; that is its point,
    // and test/audit/store-faults.test.ts checks what closing reports then.
    await app.close().catch((error: unknown) => { if (!(error instanceof AuditRecordsLostError)) throw error })
    if (options.store === undefined) await store.close()
    assertNoSecret(t, log.text(), 'the log')
  })
  return {
    app,
    log,
    store,
    async inject (options, caller = DEFAULT_CALLER) {
      const headers = { ...caller, ...options.headers as Record<string, string> | undefined }
      const response = await app.inject({ ...options, headers })
      // The audit line is written when the response closes, which can trail inject by a tick.
      const requestId = response.headers['x-request-id']
      for (let tick = 0; tick < 1000 && !log.audits().some((audit) => audit.requestId === requestId); tick++) {
        await new Promise((resolve) => setImmediate(resolve))
      }
      assertNoSecret(t, JSON.stringify(response.headers) + response.body, 'a response')
      const url = typeof options.url === 'string' ? options.url : String(options.url)
      const problems = conformanceProblems(options.method ?? 'GET', url, response.statusCode, response.headers['content-type'] as string | undefined, response.body)
      for (const problem of problems ?? []) t.fail(`the answer does not match the OpenAPI document: ${problem}`)
      return response
    }
  }
}
