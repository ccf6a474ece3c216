// Checks an answer against what the committed OpenAPI document promises for its operation and
// status, so every response the suite sees doubles as a test of the document.
import { readFileSync } from 'node:fs'
import { Ajv2020 } from 'ajv/dist/2020.js'

interface Operation { responses: Record<string, { content?: Record<string, unknown> }> }
interface Document { paths: Record<string, Record<string, Operation>> }

const DOCUMENT_ID = 'openapi.json'
const document = JSON.parse(readFileSync('openapi/openapi.json', 'utf8')) as Document
const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false })
ajv.addSchema(document, DOCUMENT_ID)

const routes = Object.keys(document.paths).map((template) => ({
  template,
  pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`)
}))

const pointer = (...segments: string[]): string =>
  segments.map((segment) => segment.replace(/~/g, '~0').replace(/\//g, '~1')).join('/')

/**
 * Problems with an answer to `method path`: an undocumented status, or a JSON body that does not
 * match the documented schema. Undefined when the path is not a documented operation.
 */
export function conformanceProblems (method: string, path: string, status: number, contentType: string | undefined, body: string): string[] | undefined {
  // The router ignores a trailing slash, so a path may match its template with or without one.
  const bare = path.replace(/\?.*$/s, '')
  const forms = [bare, bare.endsWith('/') ? bare.slice(0, -1) : `${bare}/`]
  const route = routes.find((candidate) =>
    document.paths[candidate.template]?.[method.toLowerCase()] !== undefined && forms.some((form) => candidate.pattern.test(form)))
  const operation = route === undefined ? undefined : document.paths[route.template]?.[method.toLowerCase()]
  if (route === undefined || operation === undefined) return undefined
  const response = operation.responses[String(status)]
  if (response === undefined) return [`${method} ${route.template} answered ${status}, which is not documented`]
  if (response.content === undefined) return body === '' ? [] : [`${status} is documented without a body but one was sent`]
  const mediaType = (contentType ?? '').split(';')[0]?.trim() ?? ''
  if (mediaType !== 'application/json') {
    // A documented text answer (metrics) is what it says; error pages from gateways in front of
    // Code Ocean pass through as they are; every other success is JSON.
    if (response.content[mediaType] !== undefined) return []
    return status < 400 ? [`${method} ${route.template} ${status} was sent as ${String(contentType)}, documented as ${Object.keys(response.content).join(', ')}`] : []
  }
  const validate = ajv.getSchema(`${DOCUMENT_ID}#/${pointer('paths', route.template, method.toLowerCase(), 'responses', String(status), 'content', 'application/json', 'schema')}`)
  if (validate === undefined) return [`no schema for ${method} ${route.template} ${status}`]
  if (validate(JSON.parse(body)) === true) return []
  return (validate.errors ?? []).map((error) => `${method} ${route.template} ${status}: ${error.instancePath} ${String(error.message)}`)
}
