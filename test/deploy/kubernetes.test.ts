// The Kubernetes example, checked against the code it runs: variables the proxy reads and a valid
// configuration from them, secrets mounted where the *_FILE variables point, probes and scrapes
// on the routes the OpenAPI document names, ports that line up, and time to drain on a rollout.
// Parsed as YAML 1.1, as Kubernetes reads manifests (0440 is octal there).
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { parseAllDocuments } from 'yaml'
import { Environment, loadConfig } from '../../src/config.js'
import { PROJECT_ROOT } from '../helpers/spawn-child.js'

interface Probe { httpGet: { path: string, port: string } }
interface EnvVar { name: string, value?: string, valueFrom?: { secretKeyRef: { name: string, key: string, optional?: boolean } } }
interface Container {
  image: string
  ports: Array<{ name: string, containerPort: number }>
  env: EnvVar[]
  volumeMounts: Array<{ name: string, mountPath: string, readOnly?: boolean, subPath?: string }>
  startupProbe: Probe
  livenessProbe: Probe
  readinessProbe: Probe
  lifecycle: { preStop: { exec: { command: string[] } } }
  securityContext: { readOnlyRootFilesystem: boolean, allowPrivilegeEscalation: boolean }
}
interface Volume { name: string, secret?: { secretName: string, defaultMode: number, items: Array<{ key: string, path: string }> }, emptyDir?: object }
interface Manifest {
  apiVersion: string
  kind: string
  metadata: { name: string, labels?: Record<string, string> }
  spec: {
    replicas?: number
    selector?: { matchLabels?: Record<string, string> } & Record<string, string>
    template?: {
      metadata: { labels: Record<string, string>, annotations: Record<string, string> }
      spec: { terminationGracePeriodSeconds: number, securityContext: { runAsNonRoot: boolean }, containers: Container[], volumes: Volume[] }
    }
    ports?: Array<{ name: string, port: number, targetPort: string }>
    endpoints?: Array<{ port: string, path: string }>
  }
}

const folder = join(PROJECT_ROOT, 'deploy', 'kubernetes')
async function manifests (file: string): Promise<{ text: string, documents: Manifest[], problems: unknown[] }> {
  const text = await readFile(join(folder, file), 'utf8')
  const parsed = parseAllDocuments(text, { version: '1.1', uniqueKeys: true })
  const documents = Array.isArray(parsed) ? parsed : []
  return { text, documents: documents.map((document) => document.toJS() as Manifest), problems: documents.flatMap((document) => [...document.errors, ...document.warnings]) }
}

const main = await manifests('codeocean-proxy.yaml')
const monitoring = await manifests('servicemonitor.yaml')
const find = (documents: Manifest[], kind: string, name: string): Manifest => {
  const found = documents.find((document) => document.kind === kind && document.metadata.name === name)
  if (found === undefined) throw new Error(`no ${kind} ${name}`)
  return found
}
const deployment = find(main.documents, 'Deployment', 'codeocean-proxy')
const pod = deployment.spec.template!
const container = pod.spec.containers[0]!
const service = find(main.documents, 'Service', 'codeocean-proxy')
const metricsService = find(monitoring.documents, 'Service', 'codeocean-proxy-metrics')
const serviceMonitor = find(monitoring.documents, 'ServiceMonitor', 'codeocean-proxy')

const { version } = JSON.parse(await readFile(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }
const openapi = JSON.parse(await readFile(join(PROJECT_ROOT, 'openapi', 'openapi.json'), 'utf8')) as { paths: Record<string, { get?: { operationId: string } }> }
/** The path of the proxy's GET operation with this operationId. */
const pathOf = (operationId: string): string | undefined => Object.entries(openapi.paths).find(([, methods]) => methods.get?.operationId === operationId)?.[0]
const portNamed = (name: string): number | undefined => container.ports.find((port) => port.name === name)?.containerPort

/** Values for the variables the Secret provides, as the header's kubectl command would set them. */
const FROM_SECRET: Record<string, string> = {
  'database-url': 'postgres://codeocean_proxy:secret@postgres:5432/codeocean_proxy',
  'redis-url': 'redis://redis:6379',
  'audit-admin-key': 'an-admin-key-of-the-test'
}
const environment = Object.fromEntries(container.env.map((variable) => [variable.name, variable.value ?? FROM_SECRET[variable.valueFrom?.secretKeyRef.key ?? ''] ?? '']))
const config = loadConfig(environment)

t.test('the manifests are YAML that Kubernetes reads, of the kinds expected', async (t) => {
  t.same(main.problems, [])
  t.same(monitoring.problems, [])
  t.same(main.documents.map((document) => `${document.apiVersion} ${document.kind}`), ['apps/v1 Deployment', 'v1 Service'])
  t.same(monitoring.documents.map((document) => `${document.apiVersion} ${document.kind}`), ['v1 Service', 'monitoring.coreos.com/v1 ServiceMonitor'])
  t.equal(pod.spec.containers.length, 1)
  t.match(container.image, new RegExp(`/codeocean-proxy:${version.replaceAll('.', '\\.')}$`), 'the image of this version')
})

t.test('every variable is one the proxy reads, and they make a configuration fit for several replicas', async (t) => {
  for (const { name } of container.env) t.ok(Object.hasOwn(Environment.properties, name), `${name} is a proxy variable`)
  t.ok((deployment.spec.replicas ?? 1) > 1)
  t.equal(config.store.kind, 'postgres', 'replicas share PostgreSQL (DATABASE_URL)')
  t.ok(config.rateLimits.redisUrl, 'and rate limits in Redis (REDIS_URL)')
  t.equal(config.port, portNamed('http'), 'PORT is the http port')
  t.equal(config.metrics.port, portNamed('metrics'), 'METRICS_PORT is the metrics port')
  t.equal(environment.HOST, undefined, 'HOST is the image\'s 0.0.0.0')
})

t.test('the *_FILE variables point at files of the mounted Secret, mounted whole so rotations arrive', async (t) => {
  const files = container.env.filter((variable) => variable.name.endsWith('_FILE'))
  t.same(files.map((variable) => variable.name).sort(), ['AUDIT_HMAC_KEY_FILE', 'CODEOCEAN_TOKEN_FILE'], 'the token, and the audit key PostgreSQL needs')
  for (const variable of files) {
    const mount = container.volumeMounts.find((candidate) => variable.value?.startsWith(`${candidate.mountPath}/`))
    const volume = pod.spec.volumes.find((candidate) => candidate.name === mount?.name)
    t.ok(mount?.readOnly, `${variable.name} is in a read-only mount`)
    t.equal(mount?.subPath, undefined, 'without subPath, which would freeze the file')
    t.equal(volume?.secret?.secretName, 'codeocean-proxy', 'of the Secret')
    const item = volume?.secret?.items.find((candidate) => `${mount?.mountPath}/${candidate.path}` === variable.value)
    t.ok(item, `${variable.value} is one of its items`)
    t.ok(main.text.includes(`--from-file=${item?.key ?? '?'}=`), `the header creates the key ${item?.key}`)
  }
  const secretVolume = pod.spec.volumes.find((volume) => volume.secret !== undefined)
  t.equal(secretVolume?.secret?.defaultMode, 0o440, 'readable by the pod\'s group only')
  for (const variable of container.env.filter((candidate) => candidate.valueFrom !== undefined)) {
    t.equal(variable.valueFrom?.secretKeyRef.name, 'codeocean-proxy', `${variable.name} comes from the same Secret`)
    t.ok(main.text.includes(`--from-literal=${variable.valueFrom?.secretKeyRef.key ?? '?'}=`), `the header creates the key of ${variable.name}`)
  }
})

t.test('the probes ask the proxy\'s own health routes, on its http port', async (t) => {
  t.equal(container.livenessProbe.httpGet.path, pathOf('getLiveness'))
  t.equal(container.startupProbe.httpGet.path, pathOf('getLiveness'), 'started once alive')
  t.equal(container.readinessProbe.httpGet.path, pathOf('getReadiness'))
  for (const probe of [container.startupProbe, container.livenessProbe, container.readinessProbe]) t.equal(probe.httpGet.port, 'http')
  t.ok(portNamed('http'))
})

t.test('a rollout drains: preStop first, then SHUTDOWN_TIMEOUT_MS and closing fit in the grace period', async (t) => {
  const [command, seconds, ...rest] = container.lifecycle.preStop.exec.command
  t.equal(command, 'sleep')
  t.same(rest, [])
  const shutdownMs = Number(environment.SHUTDOWN_TIMEOUT_MS ?? Environment.properties.SHUTDOWN_TIMEOUT_MS.default)
  // After the deadline, closing (audit flush, store) gets up to 5 s more before the server exits.
  t.ok(pod.spec.terminationGracePeriodSeconds * 1000 >= Number(seconds) * 1000 + shutdownMs + 5_000,
    `${pod.spec.terminationGracePeriodSeconds} s ≥ preStop ${seconds} s + SHUTDOWN_TIMEOUT_MS + 5 s`)
})

t.test('it runs unprivileged, on a read-only root, which the PostgreSQL store allows', async (t) => {
  t.equal(pod.spec.securityContext.runAsNonRoot, true)
  t.equal(container.securityContext.allowPrivilegeEscalation, false)
  t.equal(container.securityContext.readOnlyRootFilesystem, true)
  t.equal(config.store.kind, 'postgres', 'no SQLite file to write')
  t.ok(pod.spec.volumes.find((volume) => volume.name === container.volumeMounts.find((mount) => mount.mountPath === '/tmp')?.name)?.emptyDir, '/tmp is writable')
})

t.test('the Service selects the pods and sends to their http port', async (t) => {
  t.same(service.spec.selector, pod.metadata.labels)
  t.same(deployment.spec.selector?.matchLabels, pod.metadata.labels)
  t.same(service.spec.ports?.map((port) => port.targetPort), ['http'])
})

t.test('Prometheus scrapes the metrics port at the metrics route, by annotation or by ServiceMonitor', async (t) => {
  const { annotations } = pod.metadata
  t.equal(annotations['prometheus.io/scrape'], 'true')
  t.equal(Number(annotations['prometheus.io/port']), config.metrics.port)
  t.equal(annotations['prometheus.io/path'], pathOf('getMetrics'))
  t.same(metricsService.spec.selector, pod.metadata.labels)
  t.same(metricsService.spec.ports?.map((port) => [port.name, port.targetPort]), [['metrics', 'metrics']])
  for (const [label, value] of Object.entries(serviceMonitor.spec.selector?.matchLabels ?? {})) {
    t.equal(metricsService.metadata.labels?.[label], value, `the ServiceMonitor selects the metrics Service by ${label}`)
  }
  t.notSame(serviceMonitor.spec.selector?.matchLabels, service.metadata.labels, 'and not the API Service')
  t.same(serviceMonitor.spec.endpoints, [{ port: 'metrics', path: pathOf('getMetrics'), interval: '30s' }])
  t.notOk(service.spec.ports?.some((port) => port.targetPort === 'metrics'), 'the API Service does not expose the metrics port')
})
