// `.env.example`: every variable of the configuration schema, in its order, with what it takes
// and its default. Written by `npm run generate:config`; a test keeps the committed file current.
import type { TSchema } from '@sinclair/typebox'
import { Environment } from './config.js'

export const ENV_EXAMPLE_PATH = '.env.example'

const HEADER = `# codeocean-proxy's configuration: every variable it reads, what each takes, and its default.
# Generated from src/config.ts by \`npm run generate:config\`; docs/configuration.md
# says what each one does. Copy this file to .env (read by \`docker compose\` and by
# \`node --env-file=.env\`), set CODEOCEAN_DOMAIN and CODEOCEAN_TOKEN or CODEOCEAN_TOKEN_FILE, and
# uncomment what you change: a commented-out line holds the default, or nothing where there is none.
`

export function renderEnvExample (): string {
  const required = new Set<string>(Environment.required)
  const entries = Object.entries(Environment.properties) as Array<[string, TSchema]>
  const blocks = entries.map(([name, schema]) => {
    const description = String(schema.description)
    const comment = `# ${description[0]?.toUpperCase()}${description.slice(1)}`
    // Required with no default: left uncommented and empty, which the proxy reports as missing.
    if (schema.default === undefined && required.has(name)) return `${comment} (required)\n${name}=\n`
    return `${comment}\n# ${name}=${schema.default === undefined ? '' : String(schema.default)}\n`
  })
  return [HEADER, ...blocks].join('\n')
}
