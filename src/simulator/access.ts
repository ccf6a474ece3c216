// The checks every /api/v1 request passes first, as the real server makes them: the Basic-auth
// access token, then the client's Min-Server-Version.
import { timingSafeEqual } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import { HttpError } from './wire.js'

export type Version = readonly [major: number, minor: number, patch: number]

export function parseVersion (text: string): Version | undefined {
  const match = /^(\d+)\.(\d+)\.(\d+)$/.exec(text.trim())
  if (!match) return undefined
  return [Number(match[1]), Number(match[2]), Number(match[3])]
}

function compareVersions (a: Version, b: Version): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2]
}

/** The token is the Basic username and the password is empty: exactly base64(token + ':'). */
export function assertAuthorized (headers: IncomingHttpHeaders, token: string): void {
  const match = /^Basic\s+(\S+)\s*$/i.exec(headers.authorization ?? '')
  const given = Buffer.from(match?.[1] ?? '', 'base64')
  const expected = Buffer.from(`${token}:`, 'utf8')
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new HttpError(401, 'Unauthorized: send your access token as the Basic auth username with an empty password', {
      'www-authenticate': 'Basic realm="Code Ocean"'
    })
  }
}

export function assertServerVersionSuffices (headers: IncomingHttpHeaders, serverVersion: Version): void {
  const header = headers['min-server-version']
  if (header === undefined) return
  const wanted = parseVersion(String(header))
  if (!wanted) {
    throw new HttpError(400, `Malformed Min-Server-Version header "${String(header)}": expected major.minor.patch`)
  }
  if (compareVersions(wanted, serverVersion) > 0) {
    throw new HttpError(
      400,
      `Server version ${serverVersion.join('.')} is lower than the Min-Server-Version ${wanted.join('.')} the client requires`
    )
  }
}
