// The HTTP surface of the fake Code Ocean: the /api/v1 routes real clients call, and the
// signed-URL file host that result downloads go to directly.
import { randomUUID } from 'node:crypto'
import { assertAuthorized, assertServerVersionSuffices, type Version } from './access.js'
import { listResultFolder, normalizeResultPath, readResultFile, SIGNED_PREFIX, type ResultUrlSigner } from './results.js'
import { parseDataAsset, parseRunParams } from './run-params.js'
import type { ComputationStore } from './state.js'
import type { Computation, DataAssetAttachResult } from './types.js'
import { HttpError, isRecord, send, sendError, sendJson, sendNoContent, type Exchange } from './wire.js'

const API_PREFIX = '/api/v1/'

/** `id` is the route's single path parameter ('' for routes without one). */
type Handler = (ex: Exchange, id: string) => void

interface Route {
  /** Matched against the path after /api/v1/; at most one capture group. */
  readonly pattern: RegExp
  readonly methods: Readonly<Partial<Record<string, Handler>>>
}

export interface RouterOptions {
  token: string
  serverVersion: Version
  store: ComputationStore
  signer: ResultUrlSigner
  now: () => number
}

export function createRouter ({ token, serverVersion, store, signer, now }: RouterOptions): (ex: Exchange) => void {
  function existing (id: string): Computation {
    const computation = store.get(id)
    if (!computation) throw new HttpError(404, `Computation ${id} not found`)
    return computation
  }

  function assertWorkstation (id: string): void {
    if (!store.isWorkstation(id)) {
      throw new HttpError(400, `Computation ${id} is not a cloud workstation; data assets attach only to cloud workstations`)
    }
  }

  /** The result file a `?path=` query names, normalized; 404 when the results do not hold it. */
  function resultFilePath (ex: Exchange, id: string): string {
    existing(id)
    const path = normalizeResultPath(ex.record.query['path'] ?? '')
    if (path === '') throw new HttpError(400, 'The path query parameter is required')
    if (!store.hasResults(id) || !readResultFile(id, path)) {
      throw new HttpError(404, `File "${path}" not found in the results of computation ${id}`)
    }
    return path
  }

  const runComputation: Handler = (ex) => {
    const request = parseRunParams(optionalJsonBody(ex))
    if (request.capsuleId !== undefined && !store.hasCapsule(request.capsuleId)) {
      throw new HttpError(404, `Capsule ${request.capsuleId} not found`)
    }
    if (request.pipelineId !== undefined && !store.hasPipeline(request.pipelineId)) {
      throw new HttpError(404, `Pipeline ${request.pipelineId} not found`)
    }
    sendJson(ex, 200, store.run(request))
  }

  const getComputation: Handler = (ex, id) => {
    sendJson(ex, 200, existing(id))
  }

  const renameComputation: Handler = (ex, id) => {
    const name = ex.record.query['name'] ?? ''
    if (name.trim() === '') throw new HttpError(400, 'The name query parameter is required')
    if (!store.rename(id, name)) throw new HttpError(404, `Computation ${id} not found`)
    sendNoContent(ex)
  }

  const deleteComputation: Handler = (ex, id) => {
    if (!store.delete(id)) throw new HttpError(404, `Computation ${id} not found`)
    sendNoContent(ex)
  }

  const listResults: Handler = (ex, id) => {
    existing(id)
    const folder = folderOf(optionalJsonBody(ex))
    if (!store.hasResults(id)) return sendJson(ex, 200, { items: [] })
    const items = listResultFolder(id, folder)
    if (!items) throw new HttpError(404, `Folder "${folder}" not found in the results of computation ${id}`)
    sendJson(ex, 200, { items })
  }

  const resultUrls: Handler = (ex, id) => {
    sendJson(ex, 200, signer.urls(id, resultFilePath(ex, id), now()))
  }

  const resultDownloadUrl: Handler = (ex, id) => {
    sendJson(ex, 200, { url: signer.downloadUrl(id, resultFilePath(ex, id), now()) })
  }

  const attachDataAssets: Handler = (ex, id) => {
    existing(id)
    assertWorkstation(id)
    const body = optionalJsonBody(ex)
    if (!Array.isArray(body)) throw new HttpError(400, 'The request body must be a JSON array of {id, mount?}')
    const assets = body.map((item, index) => parseDataAsset(item, `[${index}]`))
    store.attach(id, assets)
    sendJson(
      ex,
      200,
      assets.map(
        ({ id: assetId, mount }): DataAssetAttachResult => ({
          id: assetId,
          mount,
          mount_state: 'mounting',
          job_id: randomUUID(),
          external: false,
          ready: false
        })
      )
    )
  }

  const detachDataAssets: Handler = (ex, id) => {
    existing(id)
    assertWorkstation(id)
    const body = optionalJsonBody(ex)
    if (!Array.isArray(body) || !body.every((item) => typeof item === 'string')) {
      throw new HttpError(400, 'The request body must be a JSON array of data asset ids')
    }
    store.detach(id, body)
    sendNoContent(ex)
  }

  const listCapsuleComputations: Handler = (ex, capsuleId) => {
    const computations = store.listForCapsule(capsuleId)
    if (!computations) throw new HttpError(404, `Capsule ${capsuleId} not found`)
    sendJson(ex, 200, computations)
  }

  const listPipelineComputations: Handler = (ex, pipelineId) => {
    const computations = store.listForPipeline(pipelineId)
    if (!computations) throw new HttpError(404, `Pipeline ${pipelineId} not found`)
    sendJson(ex, 200, computations)
  }

  const routes: readonly Route[] = [
    { pattern: /^computations$/, methods: { POST: runComputation } },
    {
      pattern: /^computations\/([^/]+)$/,
      methods: { GET: getComputation, PATCH: renameComputation, DELETE: deleteComputation }
    },
    { pattern: /^computations\/([^/]+)\/results$/, methods: { POST: listResults } },
    { pattern: /^computations\/([^/]+)\/results\/urls$/, methods: { GET: resultUrls } },
    { pattern: /^computations\/([^/]+)\/results\/download_url$/, methods: { GET: resultDownloadUrl } },
    // Attach and detach differ by a trailing slash, exactly as the SDK sends them.
    { pattern: /^computations\/([^/]+)\/data_assets$/, methods: { POST: attachDataAssets } },
    { pattern: /^computations\/([^/]+)\/data_assets\/$/, methods: { DELETE: detachDataAssets } },
    { pattern: /^capsules\/([^/]+)\/computations$/, methods: { GET: listCapsuleComputations } },
    { pattern: /^pipelines\/([^/]+)\/computations$/, methods: { GET: listPipelineComputations } }
  ]

  function routeApi (ex: Exchange): void {
    const { method, path } = ex.record
    assertAuthorized(ex.req.headers, token)
    assertServerVersionSuffices(ex.req.headers, serverVersion)
    const rest = path.slice(API_PREFIX.length)
    for (const { pattern, methods } of routes) {
      const match = pattern.exec(rest)
      if (!match) continue
      const handler = methods[method]
      if (!handler) {
        throw new HttpError(405, `Method ${method} is not allowed on ${path}`, { allow: Object.keys(methods).join(', ') })
      }
      return handler(ex, match.slice(1).join(''))
    }
    throw new HttpError(404, `No route for ${method} ${path}`)
  }

  /** Like a storage bucket: no API token, but the signature must hold and must not have expired. */
  function serveSignedFile (ex: Exchange): void {
    const { method, path, query } = ex.record
    if (method !== 'GET') throw new HttpError(405, `Method ${method} is not allowed on signed URLs`, { allow: 'GET' })
    const rest = path.slice(SIGNED_PREFIX.length)
    const slash = rest.indexOf('/')
    if (slash === -1) throw new HttpError(404, `No route for ${method} ${path}`)
    const [id, filePath] = decodeSignedPath(rest.slice(0, slash), rest.slice(slash + 1))
    const refusal = signer.refusal(id, filePath, query, now())
    if (refusal !== undefined) throw new HttpError(403, refusal)
    const file = store.hasResults(id) ? readResultFile(id, filePath) : undefined
    if (!file) throw new HttpError(404, 'The file no longer exists')
    const disposition = query['disposition'] === 'inline' ? 'inline' : 'attachment'
    send(ex, 200, file.bytes, {
      'content-type': file.contentType,
      'content-disposition': `${disposition}; filename="${file.name}"`
    })
  }

  function dispatch (ex: Exchange): void {
    const { method, path } = ex.record
    if (path.startsWith(API_PREFIX)) return routeApi(ex)
    if (path.startsWith(SIGNED_PREFIX)) return serveSignedFile(ex)
    throw new HttpError(404, `No route for ${method} ${path}`)
  }

  return (ex) => {
    try {
      dispatch(ex)
    } catch (error) {
      if (error instanceof HttpError) sendError(ex, error.status, error.message, error.headers)
      else sendError(ex, 500, `Simulator failure: ${String(error)}`)
    }
  }
}

/** The parsed JSON body, or undefined when there is none: SDKs send an empty body with a JSON content type. */
function optionalJsonBody (ex: Exchange): unknown {
  const { bodyText, body } = ex.record
  if (bodyText.trim() === '') return undefined
  if (body === undefined) throw new HttpError(400, 'The request body is not valid JSON')
  return body
}

/** The folder a results listing asks for; no body, or a null path, means the results root. */
function folderOf (body: unknown): string {
  if (body === undefined) return ''
  if (!isRecord(body)) throw new HttpError(400, 'The request body must be a JSON object {"path": "<folder>"}')
  const path = body['path']
  if (path === undefined || path === null) return ''
  if (typeof path !== 'string') throw new HttpError(400, 'path must be a string')
  return path
}

function decodeSignedPath (encodedId: string, encodedPath: string): [id: string, path: string] {
  try {
    return [decodeURIComponent(encodedId), encodedPath.split('/').map(decodeURIComponent).join('/')]
  } catch {
    throw new HttpError(400, 'Malformed signed URL')
  }
}
