// The Grafana dashboard and the Prometheus alert rules, checked against a live /metrics of the
// real app after traffic that makes every series appear: each query names metrics that exist,
// with labels and values they carry, and the dashboard shows every family the proxy exports.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { parse as parseYaml } from 'yaml'
import { buildTestApp } from '../helpers/app.js'
import { declaredFamilies, parsePrometheusText, type Sample } from '../helpers/prometheus.js'
import { namesIn } from '../helpers/promql.js'
import { startTestSimulator } from '../helpers/simulator.js'
import { PROJECT_ROOT } from '../helpers/spawn-child.js'

interface Target { refId: string, expr: string, datasource: { uid: string } }
interface Panel { id: number, type: string, title: string, datasource?: { uid: string }, gridPos: { h: number, w: number, x: number, y: number }, targets?: Target[] }
interface Variable { name: string, type: string, query: string | { query: string } }
interface Dashboard { uid: string, panels: Panel[], templating: { list: Variable[] } }
interface Rule { alert: string, expr: string, for?: string, labels: { severity: string }, annotations: { summary: string, description: string } }

// One app driven through retries, a shared poll, an open circuit and a 429 before the checks:
// more than tap's 30 s for a file on a busy machine.
t.setTimeout(120_000)

/** Labels Prometheus attaches to every series it scrapes, absent from /metrics itself. */
const TARGET_LABELS = new Set(['instance', 'job'])
const HISTOGRAM_SUFFIXES = ['_bucket', '_count', '_sum']

const dashboard = JSON.parse(await readFile(join(PROJECT_ROOT, 'deploy/grafana/codeocean-proxy.json'), 'utf8')) as Dashboard
const rules = (parseYaml(await readFile(join(PROJECT_ROOT, 'deploy/prometheus/alerts.yaml'), 'utf8')) as { groups: Array<{ name: string, rules: Rule[] }> })
  .groups.flatMap((group) => group.rules)
const queryPanels = dashboard.panels.filter((panel) => panel.type !== 'row')
const panelQueries = queryPanels.flatMap((panel) => (panel.targets ?? []).map((target) => ({ where: `panel "${panel.title}" ${target.refId}`, expr: target.expr })))

/** A scrape after traffic that exercises every metric: retries, a rejected token, shared polls, an open circuit, a 429, a failing store. */
async function scrapeAfterTraffic (t: Test): Promise<{ text: string, samples: Sample[] }> {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, { UPSTREAM_RETRY_BASE_MS: '1', RATE_LIMIT_CALLS_PER_MINUTE: '12', BREAKER_FAILURES: '2', BREAKER_MIN_PATHS: '1', BREAKER_COOLDOWN_MS: '60000' })
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis, state: 'running' })
  const url = `/api/v1/computations/${computation.id}`
  const get = async (): Promise<number> => (await proxy.inject({ method: 'GET', url })).statusCode
  t.equal(await get(), 200)
  simulator.inject({ status: 503, times: 1 })
  t.equal(await get(), 200, 'after a retry')
  simulator.inject({ status: 401, times: 1 })
  t.equal(await get(), 502, 'Code Ocean rejected the token')
  simulator.inject({ delayMs: 200, times: 1 })
  t.same(await Promise.all([get(), get(), get()]), [200, 200, 200], 'one poll shared')
  simulator.inject({ status: 502, times: 2 })
  for (let failure = 0; failure < 2; failure++) t.equal((await proxy.inject({ method: 'PATCH', url: `${url}?name=renamed` })).statusCode, 502)
  t.equal(await get(), 503, 'the circuit is open')
  let status = 0
  for (let call = 0; call < 20 && status !== 429; call++) status = await get()
  t.equal(status, 429, 'past the caller\'s budget')
  await proxy.store.close()
  t.equal((await proxy.inject({ method: 'GET', url: '/api/v2/nothing' })).statusCode, 404, 'audited into a closed store')
  for (let attempt = 0; attempt < 100; attempt++) {
    const text = (await proxy.inject({ method: 'GET', url: '/metrics' }, null)).body
    if (text.includes('codeocean_proxy_store_errors_total{operation="appendAudit"}')) return { text, samples: parsePrometheusText(text) }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error('the failed audit write was never counted')
}

t.test('the dashboard\'s and the alerts\' queries name series the proxy exports, with their labels and values', async (t) => {
  const { text, samples } = await scrapeAfterTraffic(t)
  const labelsOf = (metric: string): Map<string, Set<string>> => {
    const labels = new Map<string, Set<string>>()
    for (const sample of samples.filter((candidate) => candidate.name === metric)) {
      for (const [label, value] of Object.entries(sample.labels)) labels.set(label, (labels.get(label) ?? new Set()).add(value))
    }
    return labels
  }
  const check = (where: string, expr: string): string[] => {
    const { selectors, groupingLabels } = namesIn(expr)
    t.ok(selectors.length > 0, `${where} selects something`)
    const available = new Set(TARGET_LABELS)
    for (const { metric, matchers } of selectors) {
      const labels = labelsOf(metric)
      t.ok(samples.some((sample) => sample.name === metric), `${where}: ${metric} is exported`)
      for (const label of labels.keys()) available.add(label)
      for (const { label, operator, value } of matchers) {
        t.ok(labels.has(label) || TARGET_LABELS.has(label), `${where}: ${metric} has the label ${label}`)
        if (value.includes('$')) continue
        if (operator === '=' || operator === '!=') t.ok(labels.get(label)?.has(value), `${where}: ${metric}{${label}="${value}"} occurs`)
        else t.doesNotThrow(() => new RegExp(`^(?:${value})$`), `${where}: ${label}=~"${value}" is a regular expression`)
      }
    }
    for (const label of groupingLabels) t.ok(available.has(label), `${where}: groups by ${label}, a label of what it selects`)
    return groupingLabels
  }

  for (const { where, expr } of panelQueries) check(where, expr)
  for (const variable of dashboard.templating.list.filter((candidate) => candidate.type === 'query')) {
    const query = typeof variable.query === 'string' ? variable.query : variable.query.query
    const [, series = '', label = ''] = /^label_values\((.+), *(\w+)\)$/.exec(query) ?? []
    check(`variable $${variable.name}`, series)
    t.ok(labelsOf(namesIn(series).selectors[0]?.metric ?? '').has(label) || TARGET_LABELS.has(label), `variable $${variable.name} lists values of a label there is`)
  }
  for (const rule of rules) {
    const kept = check(`alert ${rule.alert}`, rule.expr)
    for (const [, label] of `${rule.annotations.summary} ${rule.annotations.description}`.matchAll(/\$labels\.(\w+)/g)) {
      t.ok(kept.includes(label ?? ''), `alert ${rule.alert}: its annotations use ${label}, which its expression keeps`)
    }
  }

  const shown = new Set(panelQueries.flatMap(({ expr }) => namesIn(expr).selectors.map(({ metric }) => metric)))
  for (const family of declaredFamilies(text).keys()) {
    if (!family.startsWith('codeocean_proxy_')) continue
    t.ok([family, ...HISTOGRAM_SUFFIXES.map((suffix) => family + suffix)].some((name) => shown.has(name)), `the dashboard shows ${family}`)
  }
})

t.test('the dashboard is laid out on Grafana\'s grid, each panel with its own id, on the chosen data source', async (t) => {
  t.equal(dashboard.uid, 'codeocean-proxy')
  t.same(dashboard.templating.list.map((variable) => `${variable.name}:${variable.type}`), ['datasource:datasource', 'instance:query', 'operation:query'])
  const ids = dashboard.panels.map((panel) => panel.id)
  t.equal(new Set(ids).size, ids.length, 'ids are unique')
  const cells = new Map<string, string>()
  for (const panel of dashboard.panels) {
    const { x, y, w, h } = panel.gridPos
    t.ok(x >= 0 && w > 0 && x + w <= 24, `"${panel.title}" fits the 24 columns`)
    for (let row = y; row < y + h; row++) {
      for (let column = x; column < x + w; column++) {
        const taken = cells.get(`${row},${column}`)
        if (taken !== undefined) t.fail(`"${panel.title}" overlaps "${taken}"`)
        cells.set(`${row},${column}`, panel.title)
      }
    }
  }
  for (const panel of queryPanels) {
    t.equal(panel.datasource?.uid, '${datasource}', `"${panel.title}" queries the chosen data source`)
    const refIds = (panel.targets ?? []).map((target) => target.refId)
    t.ok(refIds.length > 0 && new Set(refIds).size === refIds.length, `"${panel.title}" has queries with distinct refIds`)
  }
})

t.test('every alert is named once, says how bad and what it means, and waits before firing unless one event is enough', async (t) => {
  const names = rules.map((rule) => rule.alert)
  t.equal(new Set(names).size, names.length)
  for (const rule of rules) {
    t.match(rule.alert, /^CodeOceanProxy[A-Z]\w+$/)
    t.ok(['critical', 'warning'].includes(rule.labels.severity), `${rule.alert} has a severity`)
    t.ok(rule.annotations.summary !== '' && rule.annotations.description !== '', `${rule.alert} explains itself`)
    if (rule.for !== undefined) t.match(rule.for, /^\d+[smh]$/, `${rule.alert} waits ${rule.for}`)
  }
})
