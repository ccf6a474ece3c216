// Result files of a finished computation — a small fixed tree with deterministic bytes — and the
// signed URLs that let a user fetch them straight from the simulator, as from cloud storage.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import type { FileURLs, FolderItem } from './types.js'

/** Signed URLs stay valid this long, counted on the simulator's clock. */
export const SIGNED_URL_LIFETIME_S = 3600

interface ResultFile {
  readonly contentType: string
  readonly content: (computationId: string) => Buffer
}

// A 1×1 transparent PNG, so the figure opens in any viewer.
const PLOT_PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64'
)

const RESULT_FILES: ReadonlyMap<string, ResultFile> = new Map<string, ResultFile>([
  [
    'output.csv',
    {
      contentType: 'text/csv',
      content: () => Buffer.from('sample,value\nA,0.12\nB,3.40\nC,5.67\n')
    }
  ],
  [
    'summary.json',
    {
      contentType: 'application/json',
      content: (id) => Buffer.from(`${JSON.stringify({ computation_id: id, rows: 3, mean: 3.063 }, null, 2)}\n`)
    }
  ],
  ['figures/plot.png', { contentType: 'image/png', content: () => PLOT_PNG }],
  [
    'logs/run.log',
    {
      contentType: 'text/plain; charset=utf-8',
      content: (id) => Buffer.from(`computation ${id}\nreading input\nwriting /results/output.csv\ndone\n`)
    }
  ]
])

/** Folders of the tree, derived from the file paths ('' is the results root). */
const RESULT_FOLDERS: ReadonlySet<string> = new Set(
  ['', ...RESULT_FILES.keys()].map((path) => path.split('/').slice(0, -1).join('/'))
)

/** Result paths are relative to /results; tolerate the slashes clients add around them. */
export function normalizeResultPath (path: string): string {
  return path.replace(/^\/+|\/+$/g, '')
}

/** One level of the tree, or undefined when `folder` is not a folder of it. */
export function listResultFolder (computationId: string, folder: string): FolderItem[] | undefined {
  const path = normalizeResultPath(folder)
  if (!RESULT_FOLDERS.has(path)) return undefined
  const prefix = path === '' ? '' : `${path}/`
  const items = new Map<string, FolderItem>()
  for (const [filePath, file] of RESULT_FILES) {
    if (!filePath.startsWith(prefix)) continue
    const rest = filePath.slice(prefix.length)
    const slash = rest.indexOf('/')
    if (slash === -1) {
      items.set(filePath, { name: rest, path: filePath, type: 'file', size: file.content(computationId).length })
    } else {
      const name = rest.slice(0, slash)
      items.set(prefix + name, { name, path: prefix + name, type: 'folder' })
    }
  }
  return [...items.values()]
}

export interface ResultFileContent {
  name: string
  contentType: string
  bytes: Buffer
}

export function readResultFile (computationId: string, path: string): ResultFileContent | undefined {
  const normalized = normalizeResultPath(path)
  const file = RESULT_FILES.get(normalized)
  if (!file) return undefined
  return { name: normalized.slice(normalized.lastIndexOf('/') + 1), contentType: file.contentType, bytes: file.content(computationId) }
}

/** Path of signed URLs under the simulator's origin. */
export const SIGNED_PREFIX = '/signed/'

/** Signs and checks result URLs with a key that lives only as long as the simulator. */
export class ResultUrlSigner {
  readonly #key = randomBytes(32)
  readonly #origin: string

  constructor (origin: string) {
    this.#origin = origin
  }

  #signature (computationId: string, path: string, expires: number): string {
    return createHmac('sha256', this.#key).update(`${computationId}\n${path}\n${expires}`).digest('hex')
  }

  downloadUrl (computationId: string, path: string, nowMs: number): string {
    const expires = Math.floor(nowMs / 1000) + SIGNED_URL_LIFETIME_S
    const encodedPath = path.split('/').map(encodeURIComponent).join('/')
    const signature = this.#signature(computationId, path, expires)
    return `${this.#origin}${SIGNED_PREFIX}${encodeURIComponent(computationId)}/${encodedPath}?expires=${expires}&signature=${signature}`
  }

  urls (computationId: string, path: string, nowMs: number): FileURLs {
    const download_url = this.downloadUrl(computationId, path, nowMs)
    return { download_url, view_url: `${download_url}&disposition=inline` }
  }

  /** Why a signed request must be refused, or undefined when its signature holds and has not expired. */
  refusal (computationId: string, path: string, query: Record<string, string>, nowMs: number): string | undefined {
    const expiresText = query['expires'] ?? ''
    const given = Buffer.from(query['signature'] ?? '', 'hex')
    if (!/^\d+$/.test(expiresText)) return 'Missing or malformed expires'
    const expected = Buffer.from(this.#signature(computationId, path, Number(expiresText)), 'hex')
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'Signature does not match'
    if (Number(expiresText) * 1000 < nowMs) return 'Request has expired'
    return undefined
  }
}
