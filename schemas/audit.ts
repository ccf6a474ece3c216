// GET /audit/events: the query and the page of audit records it answers with.
import { Type, type Static } from '@sinclair/typebox'
import { Uuid, ref } from './common.js'

const Timestamp = (description: string): ReturnType<typeof Type.String> =>
  Type.String({ format: 'date-time', maxLength: 64, pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?Z$', description })

export const AuditEventsQuery = Type.Object({
  action: Type.Optional(Type.String({ pattern: '^[A-Za-z]{1,64}$', description: 'An operationId, e.g. deleteComputation.' })),
  computation_id: Type.Optional(Uuid('Records about this computation.')),
  capsule_id: Type.Optional(Uuid('Records about runs of this capsule.')),
  pipeline_id: Type.Optional(Uuid('Records about runs of this pipeline.')),
  resume_run_id: Type.Optional(Uuid('Records of runs that resume this computation.')),
  actor: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'Records of this caller (its subject).' })),
  stage: Type.Optional(Type.Union([Type.Literal('received'), Type.Literal('completed')])),
  outcome: Type.Optional(Type.Union([Type.Literal('success'), Type.Literal('client_error'), Type.Literal('server_error')], {
    description: 'success: status below 400; client_error: 400–499 (499: the caller left); server_error: 500 and above. Only completed records have one.'
  })),
  since: Type.Optional(Timestamp('Records at or after this time (UTC, ISO-8601).')),
  until: Type.Optional(Timestamp('Records before this time (UTC, ISO-8601).')),
  limit: Type.Optional(Type.String({ pattern: '^([1-9][0-9]{0,2}|1000)$', description: 'Records per page, 1 to 1000 (default 100).' })),
  cursor: Type.Optional(Type.String({ maxLength: 512, description: 'next_cursor from the previous page.' }))
}, { additionalProperties: false })
export type AuditEventsQuery = Static<typeof AuditEventsQuery>

export const AuditEvent = Type.Object({
  auditId: Type.String(),
  stage: Type.Union([Type.Literal('received'), Type.Literal('completed')]),
  recordedAt: Type.String(),
  instanceId: Type.String(),
  seq: Type.Integer(),
  hash: Type.String({ description: 'This record\'s link in its instance\'s hash chain.' })
}, { $id: 'AuditEvent', additionalProperties: true, description: 'An audit record, as stored and hashed, with its chain hash.' })

export const AuditEventPage = Type.Object({
  events: Type.Array(ref(AuditEvent)),
  next_cursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as cursor for the next page; null on the last.' })
}, { $id: 'AuditEventPage', additionalProperties: false })
