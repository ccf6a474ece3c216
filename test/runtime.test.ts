// What we ship is what we test: the image's Node major and the engines floor are both in CI's
// matrix, the running Node satisfies the floor, and the image runs unprivileged with a health
// check. Where a Docker daemon and the base image are reachable, the image is built and started.
import { readFileSync } from 'node:fs'
import t from 'tap'
import { dockerUnavailable, run } from './helpers/docker.js'
import { PROJECT_ROOT } from './helpers/spawn-child.js'

const read = (file: string): string => readFileSync(`${PROJECT_ROOT}/${file}`, 'utf8')

const dockerfile = read('Dockerfile')
const ciVersions = (/^NODE_VERSIONS=\(([^)]*)\)/m.exec(read('.ci/run'))?.[1] ?? '').trim().split(/\s+/)
const floor = /^>=(\d+)\.(\d+)(?:\.(\d+))?$/.exec((JSON.parse(read('package.json')) as { engines: { node: string } }).engines.node)
const major = (version: string): number => Number(version.split('.')[0])

t.test('CI runs the Node major of every stage of the image, first', async (t) => {
  const bases = [...dockerfile.matchAll(/^FROM node:(\d+)[-\w.]*/gm)].map((match) => Number(match[1]))
  t.ok(bases.length >= 2, `build and runtime stages: ${bases.join(', ')}`)
  t.same(new Set(bases), new Set([24]), 'Node 24 LTS in every stage')
  t.equal(major(ciVersions[0] ?? ''), 24, `CI tests ${ciVersions.join(', ')}, the image's major first`)
})

t.test('CI runs the engines floor exactly, and nothing below 22', async (t) => {
  t.ok(floor, 'engines.node is ">=major.minor[.patch]"')
  const [, floorMajor = '', floorMinor = '', floorPatch = '0'] = floor ?? []
  t.ok(Number(floorMajor) >= 22, 'Node 20 is end-of-life')
  t.ok(ciVersions.includes(`${floorMajor}.${floorMinor}.${floorPatch}`), `CI runs ${floorMajor}.${floorMinor}.${floorPatch}`)
  t.ok(ciVersions.every((version) => major(version) >= Number(floorMajor)), 'and nothing below it')
})

t.test('the Node running these tests satisfies the floor', async (t) => {
  const [runningMajor = 0, runningMinor = 0] = process.versions.node.split('.').map(Number)
  const [, floorMajor = '0', floorMinor = '0'] = floor ?? []
  t.ok(runningMajor > Number(floorMajor) || (runningMajor === Number(floorMajor) && runningMinor >= Number(floorMinor)), `Node ${process.versions.node}`)
})

t.test('the image runs as the unprivileged node user, needs no compiler, and probes /livez', async (t) => {
  const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '))
  t.match(runtime, /^USER node$/m)
  t.notMatch(dockerfile, /\b(g\+\+|make|python3|build-essential)\b/, 'no toolchain is installed')
  t.match(dockerfile, /npm ci --ignore-scripts/, 'no install script runs: prebuilt binaries only')
  t.match(runtime, /^HEALTHCHECK [^\n]*\\\n\s*CMD [^\n]*\/livez/m)
})

const withoutDocker = await dockerUnavailable({ images: [/^FROM (\S+)/m.exec(dockerfile)?.[1] ?? ''] })
// Building the image outlasts tap's 30 s for a file by far.
if (withoutDocker === undefined) t.setTimeout(900_000)
t.test('the image builds, starts as a non-root user and reports healthy', { skip: withoutDocker ?? false }, async (t) => {
  const docker = async (...args: string[]): Promise<string> => (await run('docker', args, { cwd: PROJECT_ROOT, timeout: 600_000 })).stdout.trim()
  const tag = `codeocean-proxy-test:${process.pid}`
  await docker('build', '-t', tag, '.')
  t.teardown(async () => { await docker('image', 'rm', '-f', tag).catch(() => undefined) })
  t.not(await docker('run', '--rm', '--entrypoint', 'id', tag, '-u'), '0', 'not root')
  const container = await docker('run', '-d', '-e', 'CODEOCEAN_DOMAIN=https://codeocean.example.com', '-e', 'CODEOCEAN_TOKEN=cop_image_test_token', '--health-interval=1s', tag)
  t.teardown(async () => { await docker('rm', '-f', container).catch(() => undefined) })
  let health = ''
  for (let attempt = 0; attempt < 60 && health !== 'healthy'; attempt++) {
    health = await docker('inspect', '--format', '{{.State.Health.Status}}', container)
    if (health !== 'healthy') await new Promise((resolve) => setTimeout(resolve, 1000))
  }
  t.equal(health, 'healthy')
  await docker('stop', '--time', '10', container)
  t.equal(await docker('inspect', '--format', '{{.State.ExitCode}}', container), '0', 'SIGTERM ends it cleanly')
})

t.test('the README names the versions CI tests and the floor', async (t) => {
  const readme = read('README.md')
  const section = readme.slice(readme.indexOf('## Supported Node.js versions'), readme.indexOf('\n## ', readme.indexOf('## Supported Node.js versions') + 1))
  for (const version of ciVersions) t.ok(section.includes(version), `Node ${version}`)
  t.ok(section.includes(`\`engines.node\` is \`${floor?.[0] ?? ''}\``), 'the engines floor')
})
