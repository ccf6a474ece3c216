// GET /audit/events: the audit trail, filtered and paged, for holders of the audit admin key
// and callers the policy grants audit:read. An extension outside /api/v1 (Code Ocean has
// nothing like it); its own calls are audited too.
import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { AuditEventPage, AuditEventsQuery } from '../schemas/audit.js'
import { ref, ErrorBody } from '../schemas/common.js'
import { AuditKeyRequired, AuditQueriesDisabled, Forbidden, InvalidRequest, Unauthenticated } from '../src/errors.js'
import type { Policy } from '../src/policy/policy.js'
import { canonicalId } from '../src/policy/targets.js'
import type { AuditQuery, Store } from '../src/store/store.js'

export interface AuditRoutesOptions {
  store: Store
  policy: Policy
  /** Undefined: queries are disabled. */
  adminKey?: string
}

const DEFAULT_LIMIT = 100
const OUTCOMES = {
  success: { statusFrom: 0, statusTo: 399 },
  client_error: { statusFrom: 400, statusTo: 499 },
  server_error: { statusFrom: 500, statusTo: 999 }
} as const

const digest = (value: string): Buffer => createHash('sha256').update(value).digest()

function encodeCursor (after: NonNullable<AuditQuery['after']>): string {
  return Buffer.from(JSON.stringify([after.recordedAt, after.instanceId, after.seq])).toString('base64url')
}

function decodeCursor (cursor: string): NonNullable<AuditQuery['after']> {
  try {
    const [recordedAt, instanceId, seq] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[]
    if (typeof recordedAt === 'string' && typeof instanceId === 'string' && Number.isInteger(seq)) return { recordedAt, instanceId, seq: seq as number }
  } catch {}
  throw new InvalidRequest('querystring/cursor is not a cursor this proxy issued')
}

const auditRoutes: FastifyPluginAsyncTypebox<AuditRoutesOptions> = async (app, options) => {
  const expected = options.adminKey === undefined ? undefined : digest(options.adminKey)

  app.get('/audit/events', {
    schema: {
      operationId: 'listAuditEvents',
      summary: 'Search the audit trail',
      description: 'Audit records, oldest first, filtered and paged. Needs the audit admin key as a Bearer token, or a caller the policy grants audit:read.',
      tags: ['Audit'],
      security: [{ auditAdminKey: [] }, { serviceKeyBasic: [] }, { serviceKeyBearer: [] }, { gatewayAssertion: [] }],
      querystring: AuditEventsQuery,
      response: {
        200: ref(AuditEventPage),
        400: { ...ref(ErrorBody), description: 'Invalid query.' },
        401: { ...ref(ErrorBody), description: 'No or wrong audit admin key, and no proven caller.' },
        403: { ...ref(ErrorBody), description: 'The caller is not granted audit:read, or audit queries are disabled.' },
        503: { ...ref(ErrorBody), description: 'The audit store cannot be read.' }
      }
    }
  }, async (request) => {
    // An outage while proving the caller (store, JWKS) is answered as such, not as a refusal.
    if (request.identity === null && request.identityFailure !== null && !(request.identityFailure instanceof Unauthenticated)) throw request.identityFailure
    const presented = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1]
    const byKey = expected !== undefined && presented !== undefined && timingSafeEqual(digest(presented), expected)
    const granted = request.identity === null ? undefined : options.policy.mayReadAudit(request.identity)
    request.audit.decision = byKey
      ? { outcome: 'allow', reason: 'audit admin key' }
      : { outcome: granted?.allowed === true ? 'allow' : 'deny', reason: granted?.reason ?? 'no audit admin key and no proven caller' }
    if (!byKey && granted?.allowed !== true) {
      if (granted !== undefined) throw new Forbidden('audit:read', 'the audit trail')
      if (expected === undefined) throw new AuditQueriesDisabled()
      throw new AuditKeyRequired()
    }
    const { query } = request
    const limit = query.limit === undefined ? DEFAULT_LIMIT : Number(query.limit)
    const rows = await options.store.queryAudit({
      ...(query.stage === undefined ? {} : { stage: query.stage }),
      ...(query.action === undefined ? {} : { action: query.action }),
      ...(query.computation_id === undefined ? {} : { computationId: canonicalId(query.computation_id) }),
      ...(query.capsule_id === undefined ? {} : { capsuleId: canonicalId(query.capsule_id) }),
      ...(query.pipeline_id === undefined ? {} : { pipelineId: canonicalId(query.pipeline_id) }),
      ...(query.resume_run_id === undefined ? {} : { resumeRunId: canonicalId(query.resume_run_id) }),
      ...(query.actor === undefined ? {} : { actor: query.actor }),
      ...(query.outcome === undefined ? {} : OUTCOMES[query.outcome]),
      ...(query.since === undefined ? {} : { since: query.since }),
      ...(query.until === undefined ? {} : { until: query.until }),
      ...(query.cursor === undefined ? {} : { after: decodeCursor(query.cursor) }),
      limit
    })
    const last = rows.at(-1)
    return {
      events: rows.map((row) => ({ ...JSON.parse(row.body) as Record<string, unknown>, hash: row.hash })) as Array<typeof AuditEventPage.static.events[number]>,
      next_cursor: last === undefined || rows.length < limit ? null : encodeCursor(last)
    }
  })
}

export default auditRoutes
