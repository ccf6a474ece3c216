// `npm run mutate`: StrykerJS (its tap runner) over the security-critical modules. Not part of
// `npm test`: each mutant reruns the test files that cover it.
//
// MUTATE_GROUP narrows a run to one group of modules and to the test files written for them, so
// that a group is measured in minutes rather than hours. A group's score is a lower bound: a
// mutant that survives its group's tests may still be killed by another test file of the suite.
// With no group, every module is mutated against the whole suite.
import { fileURLToPath } from 'node:url'

const groups = {
  upstream: {
    mutate: ['src/upstream/headers.ts', 'src/upstream/credential.ts'],
    testFiles: ['test/upstream/headers.test.ts', 'test/upstream/credential.test.ts']
  },
  // The forwarder, on the files that drive each of its paths: shared polls, streamed and whole
  // answers, failures and broken answers, retries, per-caller shares and answer handlers.
  forward: {
    mutate: ['src/upstream/forward.ts'],
    testFiles: [
      'test/upstream/failures.test.ts', 'test/upstream/url.test.ts', 'test/routes/computations.test.ts', 'test/routes/route-properties.test.ts', 'test/sdk-quirks.test.ts',
      'test/upstream/polling.test.ts', 'test/upstream/retry.test.ts', 'test/upstream/fairness.test.ts', 'test/broken-connections.test.ts', 'test/policy/ownership.test.ts'
    ]
  },
  identity: {
    mutate: ['src/identity/**/*.ts'],
    testFiles: ['test/identity/*.test.ts']
  },
  policy: {
    mutate: ['src/policy/**/*.ts'],
    testFiles: ['test/policy/*.test.ts']
  },
  // The audit records' parts that are pure functions (ids, links, keys, HMACs, searched
  // columns, retention), on their unit tests.
  audit: {
    mutate: ['src/audit/audit-id.ts', 'src/audit/chain.ts', 'src/audit/hmac-key.ts', 'src/audit/indexed-columns.ts', 'src/audit/retention.ts', 'src/audit/sensitive.ts'],
    testFiles: ['test/audit/chain.test.ts', 'test/audit/audit-id.test.ts', 'test/audit/hmac-key.test.ts', 'test/audit/sensitive.test.ts', 'test/audit/retention.test.ts']
  },
  // The trail and its verification, which need a store and an app; trail-faults proves the
  // trail's failure handling against a real store that fails, in seconds.
  'audit-trail': {
    mutate: ['src/audit/trail.ts', 'src/audit/verify.ts'],
    testFiles: ['test/audit/trail-faults.test.ts', 'test/audit/tamper.test.ts', 'test/audit/trail.test.ts', 'test/routes/audit.test.ts']
  },
  // The per-request records, on the files that assert them: their fields, callers who leave
  // mid-call, records cut to size, and idempotent runs (settled once the record is written).
  'audit-records': {
    mutate: ['src/audit/request-audit.ts'],
    testFiles: ['test/audit/request-audit.test.ts', 'test/request-tracking.test.ts', 'test/broken-connections.test.ts', 'test/audit/bounded-records.test.ts', 'test/idempotency/runs.test.ts', 'test/routes/audit.test.ts']
  },
  // The drift check of openapi.json catches most changes to a declaration; the route files catch
  // the contracts (route-properties proves each contract field for every mirrored route), the
  // audit query, /livez and /readyz (health), /wait (polling), and which routes are operational
  // and answer under pressure (operational-requests, overload). Summaries and descriptions are
  // not mutated (see documentation-text.mjs).
  routes: {
    mutate: ['routes/**/*.ts'],
    testFiles: [
      'test/openapi.test.ts', 'test/routes/route-contracts.test.ts', 'test/routes/route-properties.test.ts', 'test/routes/audit.test.ts',
      'test/routes/computations.test.ts', 'test/health/health.test.ts', 'test/upstream/polling.test.ts',
      'test/plugins/operational-requests.test.ts', 'test/plugins/overload.test.ts'
    ],
    ignorers: ['documentation-text']
  }
}

const name = process.env.MUTATE_GROUP
if (name !== undefined && !(name in groups)) {
  throw new Error(`MUTATE_GROUP must be one of ${Object.keys(groups).join(', ')}; got ${name}`)
}
const group = name === undefined
  ? { mutate: Object.values(groups).flatMap((g) => g.mutate), testFiles: ['test/**/*.test.ts'], ignorers: ['documentation-text'] }
  : groups[name]
const reports = `reports/mutation/${name ?? 'all'}`

export default {
  packageManager: 'npm',
  testRunner: 'tap',
  tap: {
    testFiles: group.testFiles,
    nodeArgs: ['--import', 'tsx', '--import', '@tapjs/mock/import'],
    forceBail: true
  },
  mutate: group.mutate,
  plugins: ['@stryker-mutator/*', fileURLToPath(new URL('documentation-text.mjs', import.meta.url))],
  ignorers: group.ignorers ?? [],
  coverageAnalysis: 'perTest',
  disableTypeChecks: false,
  concurrency: Number(process.env.MUTATE_CONCURRENCY ?? 2),
  timeoutMS: 30000,
  timeoutFactor: 2,
  incremental: true,
  incrementalFile: `${reports}/stryker-incremental.json`,
  reporters: ['clear-text', 'progress', 'json', 'html'],
  jsonReporter: { fileName: `${reports}/mutation.json` },
  htmlReporter: { fileName: `${reports}/mutation.html` },
  tempDirName: '.stryker-tmp',
  ignorePatterns: ['dist', 'coverage', '.tap', 'reports', 'data', 'bench', '.stryker-tmp']
}
