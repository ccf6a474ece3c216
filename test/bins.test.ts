// The commands package.json names as bins: compiled as `npm run build` compiles them, started
// through links as npm and the image install them, and linked by the Dockerfile exactly as named.
// Together they run a simulated Code Ocean, make a service key, serve a run with it, and verify
// the audit trail that run left.
import { once } from 'node:events'
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { SIMULATOR_CAPSULES } from '../src/simulator/index.js'
import { listeningAddress, startServer } from './helpers/server-process.js'
import { PROJECT_ROOT, spawnChild, type Child } from './helpers/spawn-child.js'

// tsc over the whole build, then five processes, each starting Node: on a busy machine this file
// outlasts tap's 30 s for a file, and a subtest's own timeout does not lift that.
t.setTimeout(240_000)

const { bin, scripts } = JSON.parse(await readFile(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string>, scripts: Record<string, string> }
const dockerfile = await readFile(join(PROJECT_ROOT, 'Dockerfile'), 'utf8')

interface Finished { code: number | null, stdout: string, stderr: string }

interface Running { child: Child, stdout: () => string, stderr: () => string, exited: Promise<Finished> }

function collect (child: Child): Running {
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000)
  const exited = once(child, 'exit').then(([code]) => {
    clearTimeout(timer)
    return { code: code as number | null, stdout, stderr }
  })
  return { child, stdout: () => stdout, stderr: () => stderr, exited }
}

/** Waits (up to 20 s) for the process's stderr to match `pattern`; returns the first group. */
async function printed (process: Running, pattern: RegExp): Promise<string> {
  for (let attempt = 0; attempt < 400; attempt++) {
    const found = pattern.exec(process.stderr())?.[1]
    if (found !== undefined) return found
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`the process did not print ${pattern.source}: ${process.stderr()}`)
}

t.test('the bins are the compiled server and command-line tools', async (t) => {
  t.same(Object.keys(bin).sort(), ['codeocean-proxy', 'codeocean-proxy-audit-verify', 'codeocean-proxy-keys', 'codeocean-proxy-simulator'])
  for (const [name, target] of Object.entries(bin)) {
    t.match(target, /^dist\/src\/[\w/-]+\.js$/, `${name} runs compiled JavaScript, not TypeScript through tsx`)
    const source = await readFile(join(PROJECT_ROOT, target.replace(/^dist\//, '').replace(/\.js$/, '.ts')), 'utf8')
    t.ok(source.startsWith('#!/usr/bin/env node\n'), `${name}'s source starts with the shebang tsc keeps`)
  }
})

t.test('the image links every bin onto PATH, runs the server through its bin and keeps source maps', async (t) => {
  const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '))
  const links = Object.fromEntries([...runtime.matchAll(/\bln -s \/app\/(\S+) \/usr\/local\/bin\/(\S+)/g)].map(([, target, name]) => [name, target]))
  t.same(links, bin, 'one link per bin, to its target')
  const executable = /\bchmod 0755 ([^\\\n]+)/.exec(runtime)?.[1]?.trim().split(/\s+/) ?? []
  t.same(executable.sort(), Object.values(bin).sort(), 'and each target made executable, as npm does')
  t.match(runtime, /^CMD \["codeocean-proxy"\]$/m)
  // Source maps for readable stack traces; young generation capped as Node 20 did (docs/operations.md#memory).
  const nodeOptions = /^ENV [^\n]*\\\n(?:\s+\S+=\S+ \\\n)*\s+NODE_OPTIONS="([^"]*)"/m.exec(runtime)?.[1]
  t.equal(nodeOptions, '--enable-source-maps --max-semi-space-size=16 --expose-gc')
  t.equal(scripts.start, `node ${String(nodeOptions)} dist/src/server.js`, 'npm start gives Node the same flags')
})

t.test('built and linked, the bins serve and audit a run against the simulator', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'codeocean-proxy-bins-'))
  t.teardown(() => rm(root, { recursive: true, force: true }))
  // The image's layout: package.json (its "type" makes dist ES modules), node_modules, dist.
  await copyFile(join(PROJECT_ROOT, 'package.json'), join(root, 'package.json'))
  await symlink(join(PROJECT_ROOT, 'node_modules'), join(root, 'node_modules'))
  const build = collect(spawnChild(process.execPath, [join(PROJECT_ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', join(root, 'dist')], {}))
  const built = await build.exited
  t.equal(built.code, 0, `tsc: ${built.stdout}${built.stderr}`)

  await mkdir(join(root, 'bin'))
  const programs: Record<string, string> = {}
  for (const [name, target] of Object.entries(bin)) {
    const file = join(root, target)
    t.ok((await readFile(file, 'utf8')).startsWith('#!/usr/bin/env node\n'), `${target} is built with its shebang`)
    await chmod(file, 0o755)
    programs[name] = join(root, 'bin', name)
    await symlink(file, programs[name])
  }
  const run = (name: string, args: string[], env: Record<string, string>): Running => collect(spawnChild(programs[name]!, args, env))

  const tokenFile = join(root, 'codeocean-token')
  await writeFile(tokenFile, 'cop_bins_test_token\n')
  const store = { AUDIT_DB_PATH: join(root, 'data', 'proxy.sqlite') }

  const simulator = run('codeocean-proxy-simulator', [], { CODEOCEAN_TOKEN_FILE: tokenFile, PORT: '0' })
  t.teardown(() => { simulator.child.kill('SIGKILL') })
  const simulatorUrl = await printed(simulator, /listening on (http:\/\/127\.0\.0\.1:\d+)/)

  // The server makes its database when it first starts; the keys command then works beside it.
  const server = startServer({ ...store, CODEOCEAN_DOMAIN: simulatorUrl, CODEOCEAN_TOKEN_FILE: tokenFile, PORT: '0' }, 120_000, [programs['codeocean-proxy']!])
  const address = await listeningAddress(server)
  const created = await run('codeocean-proxy-keys', ['create', '--subject', 'bins-test'], store).exited
  t.equal(created.code, 0, 'a key is made')
  const key = created.stdout.trim()
  t.match(key, /^cpx_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/, 'the key alone on stdout')
  const authorization = `Basic ${Buffer.from(`${key}:`).toString('base64')}`
  const started = await fetch(`${address}/api/v1/computations`, {
    method: 'POST',
    headers: { authorization, 'content-type': 'application/json' },
    body: JSON.stringify({ capsule_id: SIMULATOR_CAPSULES.analysis }),
    signal: AbortSignal.timeout(10_000)
  })
  t.equal(started.status, 200)
  const computation = await started.json() as { id: string, state: string }
  t.equal(computation.state, 'initializing')
  const polled = await fetch(`${address}/api/v1/computations/${computation.id}`, { headers: { authorization }, signal: AbortSignal.timeout(10_000) })
  t.equal(polled.status, 200)
  t.equal((await polled.json() as { id: string }).id, computation.id)
  server.child.kill('SIGTERM')
  t.same((await server.exited)[0], 0, 'SIGTERM ends the server cleanly')

  const audited = server.stdout().split('\n').filter((line) => line.includes('"msg":"audit"')).map((line) => (JSON.parse(line) as { audit: { stage: string, action: string } }).audit)
  t.same(audited.map(({ stage, action }) => `${stage} ${action}`), ['received runCapsule', 'completed runCapsule', 'completed getComputation'], 'a run in two records, a read in one')
  const verified = await run('codeocean-proxy-audit-verify', [], store).exited
  t.equal(verified.code, 0, verified.stderr)
  t.equal(verified.stdout, `OK: ${audited.length} audit records in 1 chains verify\n`, 'every record the server logged is stored and verifies')

  simulator.child.kill('SIGTERM')
  t.equal((await simulator.exited).code, 0, 'and the simulator')
})
