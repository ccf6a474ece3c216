// Starts the fake Code Ocean: an HTTP server that records every request, applies injected faults,
// hands the rest to the API routes, and closes promptly however its clients behave.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { isIPv6, type AddressInfo, type Socket } from 'node:net'
import { parseVersion, type Version } from './access.js'
import { Delays, faultAnswer, FaultBook } from './faults.js'
import { ResultUrlSigner } from './results.js'
import { createRouter } from './routes.js'
import { SIMULATOR_CAPSULES, SIMULATOR_PIPELINES } from './seed.js'
import { ComputationStore, type Timings } from './state.js'
import type { RecordedRequest, Simulator, SimulatorOptions } from './types.js'
import { parseJson, readBody, send, sendError, splitTarget, type Exchange, type ReadBody } from './wire.js'

const DEFAULT_TIMINGS: Timings = { initializingMs: 1000, runningMs: 3000, finalizingMs: 1000 }
const DEFAULT_SERVER_VERSION = '4.6.0'
/** Bodies past this size are answered 413 (and recorded with an empty bodyText). */
export const MAX_BODY_BYTES = 1024 * 1024

interface Settings {
  token: string
  host: string
  port: number
  publicUrl: string | undefined
  timings: Timings
  extraFields: Record<string, unknown>
  serverVersion: Version
  now: () => number
}

function resolveOptions (options: SimulatorOptions): Settings {
  if (typeof options.token !== 'string' || options.token === '') {
    throw new TypeError('startSimulator: token must be a non-empty string')
  }
  const serverVersion = parseVersion(options.serverVersion ?? DEFAULT_SERVER_VERSION)
  if (!serverVersion) throw new TypeError(`startSimulator: serverVersion must look like 4.6.0, got ${options.serverVersion}`)
  const publicUrl = options.publicUrl === undefined ? undefined : publicOrigin(options.publicUrl)
  const timings: Timings = { ...DEFAULT_TIMINGS, ...options.timings }
  for (const [name, ms] of Object.entries(timings)) {
    if (!(Number.isFinite(ms) && ms >= 0)) throw new RangeError(`startSimulator: timings.${name} must be >= 0, got ${ms}`)
  }
  return {
    token: options.token,
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 0,
    publicUrl,
    timings,
    extraFields: { ...options.extraFields },
    serverVersion,
    now: options.now ?? Date.now
  }
}

/** An http(s) origin (a path is kept, a trailing slash dropped); anything else is a TypeError. */
function publicOrigin (url: string): string {
  if (!/^https?:\/\/[^/?#]+(\/[^?#]*)?$/.test(url) || !URL.canParse(url)) {
    throw new TypeError(`startSimulator: publicUrl must be an http(s) URL without a query, got ${url}`)
  }
  return url.replace(/\/+$/, '')
}

function listen (server: ReturnType<typeof createServer>, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
}

export async function startSimulator (options: SimulatorOptions): Promise<Simulator> {
  const settings = resolveOptions(options)
  const server = createServer()
  const sockets = new Set<Socket>()
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await listen(server, settings.port, settings.host)

  const { port } = server.address() as AddressInfo
  const url = `http://${isIPv6(settings.host) ? `[${settings.host}]` : settings.host}:${port}`
  const store = new ComputationStore({ timings: settings.timings, now: settings.now, extraFields: settings.extraFields })
  const route = createRouter({
    token: settings.token,
    serverVersion: settings.serverVersion,
    store,
    signer: new ResultUrlSigner(settings.publicUrl ?? url),
    now: settings.now
  })
  const faults = new FaultBook()
  const delays = new Delays()
  const requests: RecordedRequest[] = []

  async function receive (req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body: ReadBody
    try {
      body = await readBody(req, MAX_BODY_BYTES)
    } catch {
      return // the client went away mid-body; there is nobody to answer
    }
    const rawUrl = String(req.url)
    const { path, query } = splitTarget(rawUrl)
    const record: RecordedRequest = {
      method: String(req.method),
      url: rawUrl,
      path,
      query,
      headers: { ...req.headers },
      bodyText: body.text,
      body: parseJson(body.text),
      response: undefined
    }
    requests.push(record)
    const ex: Exchange = { req, res, record, extraHeaders: {} }

    const fault = faults.take(record.method, path)
    if (fault) {
      if (fault.delayMs !== undefined && !(await delays.sleep(fault.delayMs))) return
      if (fault.hang) return
      if (fault.reset) {
        req.socket.resetAndDestroy()
        return
      }
      ex.extraHeaders = { ...fault.headers }
      if (fault.status !== undefined) {
        const answer = faultAnswer({ ...fault, status: fault.status })
        send(ex, answer.status, answer.body, answer.headers)
        return
      }
    }
    if (body.tooLarge) {
      sendError(ex, 413, `The request body exceeds ${MAX_BODY_BYTES} bytes`)
      return
    }
    route(ex)
  }

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    // The router answers every error itself; this only guards the process against the unforeseen.
    receive(req, res).catch(/* c8 ignore next */ () => res.destroy())
  })

  let closed: Promise<void> | undefined
  return {
    url,
    port,
    requests,
    capsules: SIMULATOR_CAPSULES,
    pipelines: SIMULATOR_PIPELINES,
    inject: (fault) => faults.add(fault),
    clearFaults: () => faults.clear(),
    clearRequests: () => {
      requests.length = 0
    },
    complete: (computationId, outcome) => store.complete(computationId, outcome),
    addComputation: (fields) => store.add(fields),
    getComputation: (id) => store.get(id),
    close: () => {
      closed ??= new Promise<void>((resolve) => {
        delays.cancelAll()
        server.close(() => resolve())
        // Hung and keep-alive connections would otherwise hold close() open.
        server.closeAllConnections()
        for (const socket of sockets) socket.destroy()
      })
      return closed
    }
  }
}
