// Each plugin names the plugins whose request state or decorators it uses (identity, audit, the
// run keys, the forwarder) or whose guarantee it relies on (every route has a contract), and an app built
// without one of them fails at boot, naming it, instead of misbehaving on the first request.
import Fastify from 'fastify'
import t from 'tap'
import auditPlugin from '../../src/plugins/audit.js'
import authorizationPlugin from '../../src/plugins/authorization.js'
import errorHandlingPlugin from '../../src/plugins/error-handling.js'
import idempotencyPlugin from '../../src/plugins/idempotency.js'
import rateLimitsPlugin from '../../src/plugins/rate-limits.js'
import requestParsingPlugin from '../../src/plugins/request-parsing.js'
import routeHandlersPlugin from '../../src/plugins/route-handlers.js'
import upstreamPlugin from '../../src/plugins/upstream.js'

/** Each plugin, and what it must find registered before it. */
const DEPENDENCIES = [
  ['audit', auditPlugin, ['identity']],
  ['authorization', authorizationPlugin, ['route-contracts', 'identity', 'audit']],
  ['error-handling', errorHandlingPlugin, ['audit']],
  ['idempotency', idempotencyPlugin, ['identity', 'audit']],
  ['rate-limits', rateLimitsPlugin, ['identity']],
  ['request-parsing', requestParsingPlugin, ['audit', 'error-handling']],
  ['upstream', upstreamPlugin, ['identity', 'audit']],
  // Forwards only what authorization has decided on.
  ['route-handlers', routeHandlersPlugin, ['identity', 'audit', 'authorization', 'idempotency', 'upstream']]
] as const

/** Plugins that stand in for the real ones by name: only their presence is checked at boot. */
const present = Object.fromEntries(['route-contracts', 'identity', 'audit', 'authorization', 'error-handling', 'idempotency', 'upstream'].map((name) =>
  [name, Object.assign(async () => {}, { [Symbol.for('skip-override')]: true, [Symbol.for('fastify.display-name')]: name, [Symbol.for('plugin-meta')]: { name } })]))

for (const [name, plugin, dependencies] of DEPENDENCIES) {
  for (const missing of dependencies) {
    t.test(`${name} without ${missing} fails at boot, naming it`, async (t) => {
      const app = Fastify()
      for (const dependency of dependencies) if (dependency !== missing) await app.register(present[dependency] as never)
      await t.rejects(async () => { await app.register(plugin as never, {} as never) }, new RegExp(`dependency '${missing}' of plugin '${name}' is not registered`))
      await app.close().catch(() => {})
    })
  }
}

