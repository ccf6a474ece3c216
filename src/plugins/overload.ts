// Sheds load before the process falls over (@fastify/under-pressure): past the configured
// event-loop delay or utilization, heap or RSS, new requests get 503 PROXY_OVERLOADED with
// Retry-After, are audited, and nothing is forwarded (a saturated loop that is not late sheds only
// requests without a credential). Liveness and metrics still answer, so an
// overloaded instance is not taken for a dead one; readiness turns red with the rest. It runs
// before identity: a refusal under load costs no JWT check or key lookup (its audit record has
// no actor), so a flood cannot make shedding itself expensive.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import underPressure from '@fastify/under-pressure'
import { ProxyOverloaded, retryAfter } from '../errors.js'
import { startAudit, type AuditWriters } from './audit.js'
import { routeOf } from '../contract/route-of-request.js'

export interface OverloadOptions {
  /** Mean event-loop delay over a sample (1 s) past which requests are refused; 0 for no limit. */
  maxEventLoopDelayMs: number
  /** Share of a sample the event loop was busy, past which requests are refused; 0 for no limit. */
  maxEventLoopUtilization: number
  maxHeapUsedBytes: number
  maxRssBytes: number
  retryAfterSeconds: number
  /** A refused request is audited here: the audit's own hook comes after identity, and never runs for it. */
  audit: AuditWriters
  /** Whether a request carries a credential (Authenticator.carriesCredential): see below. */
  carriesCredential: (request: FastifyRequest) => boolean
}

/** under-pressure's names for what is over its limit (its health check is not used). */
const PRESSURES: Record<string, string> = {
  eventLoopDelay: 'its event loop is running late',
  eventLoopUtilization: 'its event loop is saturated',
  heapUsedBytes: 'its heap is over OVERLOAD_MAX_HEAP_USED_BYTES',
  rssBytes: 'its memory is over OVERLOAD_MAX_RSS_BYTES'
}

async function overload (app: FastifyInstance, options: OverloadOptions): Promise<void> {
  await app.register(underPressure, {
    maxEventLoopDelay: options.maxEventLoopDelayMs,
    maxEventLoopUtilization: options.maxEventLoopUtilization,
    // Utilization over the last sample, not since start-up (under-pressure's default).
    eventLoopUtilizationMode: 'interval',
    maxHeapUsedBytes: options.maxHeapUsedBytes,
    maxRssBytes: options.maxRssBytes,
    retryAfter: options.retryAfterSeconds,
    pressureHandler: async (request, reply, type) => {
      if (routeOf(request).config.answersUnderPressure === true) return
      // A loop that is busy but not late (a flood of cheap requests, each refused at once) is no
      // reason to turn away callers who present a credential: only those who present none are
      // shed for utilization alone. Delay and memory shed everyone.
      if (type === 'eventLoopUtilization' && options.carriesCredential(request)) return
      startAudit(request, reply, options.audit)
      throw retryAfter(new ProxyOverloaded(String(PRESSURES[type])), options.retryAfterSeconds)
    }
  })
}

export default fp(overload, { name: 'overload', fastify: '5.x' })
