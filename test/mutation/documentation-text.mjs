// A Stryker ignorer for the routes group: the text of a `summary` or `description` is read by
// people, not by the proxy or a generated client, so changing it is no bug a test should catch.
// Only that text is skipped; operationIds, tags, contract fields and schema constraints are not.
import { PluginKind, declareValuePlugin } from '@stryker-mutator/api/plugin'

const DOCUMENTATION_KEYS = new Set(['summary', 'description'])

function isDocumentationText (path) {
  const parent = path.parentPath
  if (parent === null || !parent.isObjectProperty() || parent.node.value !== path.node) return false
  const key = parent.node.key
  const name = key.type === 'Identifier' ? key.name : key.type === 'StringLiteral' ? key.value : undefined
  return DOCUMENTATION_KEYS.has(name)
}

export const strykerPlugins = [
  declareValuePlugin(PluginKind.Ignore, 'documentation-text', {
    shouldIgnore (path) {
      return isDocumentationText(path) ? 'documentation text (summary or description)' : undefined
    }
  })
]
