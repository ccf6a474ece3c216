// GET /livez and GET /readyz: what a load balancer or an orchestrator is told.
import { Type } from '@sinclair/typebox'

export const Liveness = Type.Object({
  status: Type.Literal('alive')
}, { $id: 'Liveness', additionalProperties: false, description: 'The process is running and its event loop answers.' })

const Check = Type.Object({
  ok: Type.Boolean(),
  message: Type.Optional(Type.String({ description: 'Why not, when not ok.' }))
}, { additionalProperties: false })

export const Readiness = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('not ready')]),
  message: Type.Optional(Type.String({ description: 'Which checks failed, when not ready.' })),
  checks: Type.Record(Type.String(), Check, {
    description: 'draining (shutting down), load (not overloaded), store (answers a ping), gateway (signing keys loaded; only with a gateway), ' +
      'upstream (the circuit to Code Ocean is not open), audit (the audit trail is keeping up).'
  })
}, { $id: 'Readiness', additionalProperties: false, description: 'Whether this instance should be sent traffic, and each check.' })
