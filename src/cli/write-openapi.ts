// `npm run openapi`: writes openapi/openapi.json from the routes' schemas, and the TypeScript
// types generated from it.
import { writeFile } from 'node:fs/promises'
import { OPENAPI_PATH, OPENAPI_TYPES_PATH, renderOpenApiDocument, renderOpenApiTypes } from '../openapi-document.js'

const document = await renderOpenApiDocument()
await writeFile(OPENAPI_PATH, document)
await writeFile(OPENAPI_TYPES_PATH, await renderOpenApiTypes(document))
process.stdout.write(`wrote ${OPENAPI_PATH} and ${OPENAPI_TYPES_PATH}\n`)
