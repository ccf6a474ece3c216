// GET /audit/events: the audit trail, filtered and paged, for holders of the audit admin key
// and callers the policy grants audit:read. An extension outside /api/v1 (Code Ocean has
// nothing like it); its own calls are audited too.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { AuditEventPage, AuditEventsQuery } from '../schemas/audit.js'
import { ref, ErrorBody } from '../schemas/common.js'
import { routeContract } from '../src/contract/route-contract.js'
import { InvalidRequest } from '../src/errors.js'
import { canonicalId } from '../src/policy/targets.js'
import type { AuditQuery, AuditStore } from '../src/store/store.js'

export interface AuditRoutesOptions {
  store: AuditStore
}

const DEFAULT_LIMIT = 100
const OUTCOMES = {
  success: { statusFrom: 0, statusTo: 399 },
  client_error: { statusFrom: 400, statusTo: 499 },
  server_error: { statusFrom: 500, statusTo: 999 }
} as const

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
  app.get('/audit/events', {
    // Who may read it is decided with every other route's action (see plugins/authorization.ts).
    config: { contract: routeContract({ operation: 'listAuditEvents', action: 'audit:read', resource: 'audit trail' }) },
    schema: {
      operationId: 'listAuditEvents',
      summary: 'Search the audit trail',
      description: 'Audit records, oldest first, filtered and paged. Needs the audit admin key as a Bearer token, or a caller the policy grants audit:read.',
      tags: ['Audit'],
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
