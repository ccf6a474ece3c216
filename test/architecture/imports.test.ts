// The folder layout is the architecture: imports run down the layers and never in a circle.
// Read from the source files themselves, so a new file is checked without new test code.
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, normalize, relative } from 'node:path'
import t from 'tap'

const ROOT = join(import.meta.dirname, '..', '..')

/**
 * Layers, lowest first. A module may import from its own layer or a lower one. The domain is
 * everything under src/ not named here (policy, identity, audit, store, upstream, …).
 */
const LAYERS: ReadonlyArray<readonly [string, (path: string) => boolean]> = [
  ['domain', () => true],
  ['plugins', (path) => path.startsWith('src/plugins/')],
  ['routes', (path) => path.startsWith('routes/')],
  ['app', (path) => path === 'src/app.ts' || path === 'src/openapi-document.ts'],
  ['entry points', (path) => ['src/server.ts', 'src/demo.ts'].includes(path) || path.startsWith('src/cli/')]
]

function layerOf (path: string): number {
  for (let index = LAYERS.length - 1; index > 0; index--) if ((LAYERS[index] as readonly [string, (path: string) => boolean])[1](path)) return index
  return 0
}

function sourceFiles (folder: string): string[] {
  return readdirSync(join(ROOT, folder), { withFileTypes: true }).flatMap((entry) => {
    const path = `${folder}/${entry.name}`
    if (entry.isDirectory()) return sourceFiles(path)
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : []
  })
}

/** Each module's imports of other modules of the project (static and dynamic), as paths from the root. */
function importGraph (): Map<string, string[]> {
  const graph = new Map<string, string[]>()
  for (const path of ['src', 'routes', 'schemas'].flatMap(sourceFiles)) {
    const text = readFileSync(join(ROOT, path), 'utf8')
    const specifiers = [...text.matchAll(/(?:^import|^export)[^'"]*?from\s+'([^']+)'|import\('([^']+)'\)/gm)].map((match) => match[1] ?? match[2] as string)
    graph.set(path, specifiers.filter((specifier) => specifier.startsWith('.')).map((specifier) =>
      relative(ROOT, normalize(join(ROOT, dirname(path), specifier))).replace(/\.js$/, '.ts')))
  }
  return graph
}

const graph = importGraph()

t.test('the graph is read: every module found, every import resolved to a file', async (t) => {
  t.ok(graph.size > 50, `${graph.size} modules`)
  t.ok(graph.get('src/app.ts')?.includes('src/plugins/audit.ts'), 'the app imports its plugins')
  for (const [path, imports] of graph) {
    for (const imported of imports) t.ok(graph.has(imported), `${path} imports ${imported}`)
  }
})

t.test('no module imports from a layer above its own', async (t) => {
  const upward = [...graph].flatMap(([path, imports]) => imports
    .filter((imported) => layerOf(imported) > layerOf(path))
    .map((imported) => `${path} (${LAYERS[layerOf(path)]?.[0]}) imports ${imported} (${LAYERS[layerOf(imported)]?.[0]})`))
  t.same(upward, [])
})

t.test('configuration is read at the bottom of the domain: it imports errors, its own helpers and the policy file\'s checks only', async (t) => {
  const imports = graph.get('src/config.ts') ?? []
  t.same(imports.filter((imported) => !['src/errors.ts', 'src/net/address-list.ts', 'src/config-file.ts', 'src/policy/policy-file.ts'].includes(imported)), [])
})

t.test('no import circle', async (t) => {
  const circles: string[] = []
  const state = new Map<string, 'open' | 'done'>()
  const visit = (path: string, trail: string[]): void => {
    if (state.get(path) === 'done') return
    if (state.get(path) === 'open') {
      circles.push([...trail.slice(trail.indexOf(path)), path].join(' -> '))
      return
    }
    state.set(path, 'open')
    for (const imported of graph.get(path) ?? []) visit(imported, [...trail, path])
    state.set(path, 'done')
  }
  for (const path of graph.keys()) visit(path, [])
  t.same(circles, [])
})
