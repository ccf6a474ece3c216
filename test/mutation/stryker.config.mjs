// `npm run mutate`: StrykerJS (its tap runner) over the security-critical modules. Not part of
// `npm test`: each mutant reruns the test files that cover it.
//
// MUTATE_GROUP narrows a run to one group of modules and to the test files written for them, so
// that a group is measured in minutes rather than hours. A group's score is a lower bound: a
// mutant that survives its group's tests may still be killed by another test file of the suite.
// With no group, every module is mutated against the whole suite.
const groups = {
  upstream: {
    mutate: ['src/upstream/headers.ts', 'src/upstream/credential.ts', 'src/upstream/forward.ts'],
    testFiles: ['test/upstream/credential.test.ts', 'test/upstream/failures.test.ts', 'test/upstream/url.test.ts', 'test/routes/computations.test.ts', 'test/routes/route-properties.test.ts', 'test/sdk-quirks.test.ts']
  },
  identity: {
    mutate: ['src/identity/**/*.ts'],
    testFiles: ['test/identity/*.test.ts']
  },
  policy: {
    mutate: ['src/policy/**/*.ts'],
    testFiles: ['test/policy/*.test.ts']
  },
  audit: {
    mutate: ['src/audit/**/*.ts'],
    testFiles: ['test/audit/*.test.ts', 'test/routes/audit.test.ts', 'test/routes/route-properties.test.ts']
  },
  routes: {
    mutate: ['routes/**/*.ts'],
    testFiles: ['test/routes/*.test.ts', 'test/bad-input.test.ts']
  }
}

const name = process.env.MUTATE_GROUP
if (name !== undefined && !(name in groups)) {
  throw new Error(`MUTATE_GROUP must be one of ${Object.keys(groups).join(', ')}; got ${name}`)
}
const group = name === undefined
  ? { mutate: Object.values(groups).flatMap((g) => g.mutate), testFiles: ['test/**/*.test.ts'] }
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
