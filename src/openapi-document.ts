// Renders the OpenAPI document from the routes, without a Code Ocean or a listening socket;
// used by `npm run openapi` (which commits it) and by the test that catches drift.
import { buildApp } from './app.js'
import { loadConfig } from './config.js'
import { createLogger } from './logger.js'

export const OPENAPI_PATH = 'openapi/openapi.json'

export async function renderOpenApiDocument (): Promise<string> {
  const config = loadConfig({ CODEOCEAN_DOMAIN: 'https://codeocean.example.com', CODEOCEAN_TOKEN: 'placeholder-not-used' })
  const app = await buildApp({ config, logger: createLogger({ level: 'silent' }) })
  try {
    await app.ready()
    return `${JSON.stringify(app.swagger(), null, 2)}\n`
  } finally {
    await app.close()
  }
}
