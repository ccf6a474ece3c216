// The process logger. Redaction is the last line of defence: the proxy never logs headers or
// tokens on purpose, and these paths keep them out even if a future log line carries one.
import { pino, type DestinationStream, type Logger } from 'pino'

export const REDACTED_PATHS = [
  'authorization', '*.authorization', 'headers.authorization', 'req.headers.authorization',
  'cookie', '*.cookie', 'headers.cookie', 'req.headers.cookie', 'headers["set-cookie"]',
  'token', '*.token', 'password', '*.password', 'secret', '*.secret',
  'headers["x-pomerium-jwt-assertion"]', 'headers["x-goog-iap-jwt-assertion"]', 'headers["cf-access-jwt-assertion"]',
  'download_url', '*.download_url', 'view_url', '*.view_url'
]

export function createLogger (options: { level: string, destination?: DestinationStream }): Logger {
  const settings = {
    level: options.level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    base: { service: 'codeocean-proxy' }
  }
  return options.destination === undefined ? pino(settings) : pino(settings, options.destination)
}
