// `npm run openapi`: writes openapi/openapi.json from the routes' schemas.
import { writeFile } from 'node:fs/promises'
import { OPENAPI_PATH, renderOpenApiDocument } from '../openapi-document.js'

await writeFile(OPENAPI_PATH, await renderOpenApiDocument())
process.stdout.write(`wrote ${OPENAPI_PATH}\n`)
