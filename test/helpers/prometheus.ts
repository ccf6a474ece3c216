// A strict reader of Prometheus's text exposition format (0.0.4), for tests: every sample line
// must parse and belong to a family declared by # HELP and # TYPE before it.
import type { FastifyInstance } from 'fastify'

export interface Sample { name: string, labels: Record<string, string>, value: number }

const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped'])
// Values as Go's ParseFloat reads them, as Prometheus does: NaN and Inf in any case (prom-client writes Nan).
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (-?[0-9.e+-]+|[Nn][Aa][Nn]|[+-][Ii]nf)( -?\d+)?$/
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/y
const SUFFIXES = ['_bucket', '_count', '_sum', '_total', '_created']

export function parsePrometheusText (text: string): Sample[] {
  const declared = new Map<string, string>()
  const samples: Sample[] = []
  for (const [index, line] of text.split('\n').entries()) {
    if (line === '') continue
    const where = `line ${index + 1}: ${line}`
    if (line.startsWith('# HELP ')) continue
    if (line.startsWith('# TYPE ')) {
      const [, , name, type] = line.split(' ')
      if (name === undefined || type === undefined || !TYPES.has(type)) throw new Error(`bad TYPE, ${where}`)
      if (declared.has(name)) throw new Error(`family declared twice, ${where}`)
      declared.set(name, type)
      continue
    }
    if (line.startsWith('#')) continue
    const match = SAMPLE.exec(line)
    if (match === null) throw new Error(`not a sample, ${where}`)
    const name = match[1] as string
    const family = [name, ...SUFFIXES.filter((suffix) => name.endsWith(suffix)).map((suffix) => name.slice(0, -suffix.length))]
    if (!family.some((candidate) => declared.has(candidate))) throw new Error(`sample of an undeclared family, ${where}`)
    const labels: Record<string, string> = {}
    const body = match[3] ?? ''
    LABEL.lastIndex = 0
    while (LABEL.lastIndex < body.length) {
      const label = LABEL.exec(body)
      if (label === null) throw new Error(`bad labels, ${where}`)
      labels[label[1] as string] = (label[2] as string).replace(/\\(.)/g, (_all, escaped: string) => escaped === 'n' ? '\n' : escaped)
    }
    samples.push({ name, labels, value: Number(match[4]) })
  }
  return samples
}

/** The value of the one sample with this name whose labels include `labels`; undefined when none. */
export function sampleValue (samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samples.filter((sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value))
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`)
  return found[0]?.value
}

/** The metric families the text declares (`# TYPE name type`), each with its type, samples or not. */
export function declaredFamilies (text: string): Map<string, string> {
  return new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map(([, name, type]) => [name as string, type as string]))
}

/** How many calls of the store's `operation` the app has made, as its own /metrics counts them. */
export async function storeCalls (app: FastifyInstance, operation: string): Promise<number> {
  const samples = parsePrometheusText((await app.inject({ method: 'GET', url: '/metrics' })).body)
  return sampleValue(samples, 'codeocean_proxy_store_duration_seconds_count', { operation }) ?? 0
}
