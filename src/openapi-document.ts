// Renders the OpenAPI document from the routes, without a Code Ocean or a listening socket, and
// the TypeScript types a generated client is built from; used by `npm run openapi` (which
// commits both) and by the test that catches drift. A development tool, not in the build.
import openapiTS, { astToString } from 'openapi-typescript'
import { buildApp } from './app.js'
import { loadConfig } from './config.js'
import { createLogger } from './logger.js'
import { openSqliteDatabase } from './store/sqlite-database.js'

export const OPENAPI_PATH = 'openapi/openapi.json'
export const OPENAPI_TYPES_PATH = 'openapi/openapi.d.ts'

export async function renderOpenApiDocument (): Promise<string> {
  const config = loadConfig({ CODEOCEAN_DOMAIN: 'https://codeocean.example.com', CODEOCEAN_TOKEN: 'placeholder-not-used', AUDIT_DB_PATH: ':memory:' })
  const app = await buildApp({ config, logger: createLogger({ level: 'silent' }), store: openSqliteDatabase(':memory:') })
  try {
    await app.ready()
    return `${JSON.stringify(app.swagger(), null, 2)}\n`
  } finally {
    await app.close()
  }
}

/** The document's types as openapi-typescript generates them (`paths`, `components`, `operations`). */
export async function renderOpenApiTypes (document: string): Promise<string> {
  const header = '// Generated from openapi.json by `npm run openapi` (openapi-typescript). Do not edit.\n\n'
  return header + astToString(await openapiTS(JSON.parse(document) as Parameters<typeof openapiTS>[0]))
}
