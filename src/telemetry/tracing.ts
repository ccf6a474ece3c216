// OpenTelemetry tracing for the process, started only when an OTLP endpoint is configured: a
// tracer provider batching spans to the endpoint as OTLP/HTTP JSON, W3C trace context, and the
// instrumentations for incoming requests (@fastify/otel) and calls to Code Ocean (undici).
import { FastifyOtelInstrumentation } from '@fastify/otel'
import { context, diag, DiagLogLevel, propagation, trace, type DiagLogger, type Span } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici'
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources'
import { AlwaysOffSampler, AlwaysOnSampler, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler, TracerProvider, type Sampler } from '@opentelemetry/sdk-trace'
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions'
import type { FastifyBaseLogger, FastifyPluginCallback, FastifyRequest } from 'fastify'
import type { TracingConfig } from '../config.js'
import { VERSION } from '../version.js'
import { incomingUrlAttributes, outgoingUrlAttributes } from './url-attributes.js'
import { routeOf } from '../contract/route-of-request.js'

export interface Tracing {
  /** @fastify/otel's plugin: registered first in the app, its request span encloses every hook. */
  readonly fastifyPlugin: FastifyPluginCallback
  /** Stops making spans, sends those still buffered, and unregisters everything it registered. */
  shutdown (): Promise<void>
}

/**
 * Registers the process-wide tracer provider, propagator and context manager (one at a time:
 * shut one down before starting another). Spans the collector does not take are logged.
 */
export function startTracing (config: TracingConfig, log: FastifyBaseLogger): Tracing {
  const provider = new TracerProvider({
    resource: defaultResource().merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: config.serviceName, [ATTR_SERVICE_VERSION]: VERSION })),
    sampler: samplerOf(config.sampler),
    spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: config.tracesUrl }), ...config.batch })]
  })
  diag.setLogger(diagnosticsTo(log), { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true })
  trace.setGlobalTracerProvider(provider)
  // Trace context only: a baggage propagator would also pass a caller's `baggage` on to Code Ocean.
  propagation.setGlobalPropagator(new W3CTraceContextPropagator())
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
  const instrumentations = [
    // No spans per hook: the request, the handler and the proxy's own spans say what matters.
    new FastifyOtelInstrumentation({ instrumentHooks: false, requestHook: describeRequest }),
    // No header is ever recorded (headersToSpanAttributes stays unset): the call carries the token.
    // The hook's URL attributes replace the instrumentation's, which hold the query in clear.
    new UndiciInstrumentation({ startSpanHook: (request) => outgoingUrlAttributes(request.origin, request.path) })
  ]
  for (const instrumentation of instrumentations) instrumentation.setTracerProvider(provider)
  return {
    fastifyPlugin: (instrumentations[0] as FastifyOtelInstrumentation).plugin(),
    async shutdown () {
      for (const instrumentation of instrumentations) instrumentation.disable()
      try {
        await provider.shutdown()
      } catch (error) {
        // Spans are worth a warning, not a failed shutdown.
        log.warn({ err: error }, 'opentelemetry: the last spans could not be sent')
      }
      trace.disable()
      propagation.disable()
      context.disable()
      diag.disable()
    }
  }
}

/**
 * The sampler OTEL_TRACES_SAMPLER names. The SDK no longer reads the variable itself (since
 * OpenTelemetry JS 3), so the proxy keeps honouring it here.
 */
export function samplerOf ({ name, ratio }: TracingConfig['sampler']): Sampler {
  const root = name.endsWith('always_off') ? new AlwaysOffSampler() : name.endsWith('traceidratio') ? new TraceIdRatioBasedSampler(ratio) : new AlwaysOnSampler()
  return name.startsWith('parentbased_') ? new ParentBasedSampler({ root }) : root
}

/**
 * The request span is named `METHOD route`, as OpenTelemetry's HTTP conventions say; its URL
 * attributes replace @fastify/otel's url.path, which is the whole request target, query included.
 */
function describeRequest (span: Span, request: FastifyRequest): void {
  span.updateName(routeOf(request).url === undefined ? request.method : `${request.method} ${routeOf(request).url}`)
  span.setAttributes(incomingUrlAttributes(request.url))
}

/** OpenTelemetry's own problems (an unreachable collector) in the process log. */
function diagnosticsTo (log: FastifyBaseLogger): DiagLogger {
  const write = (level: 'error' | 'warn' | 'debug') => (message: string, ...args: unknown[]): void => {
    log[level]({ otel: args.map(String) }, `opentelemetry: ${message}`)
  }
  return { error: write('error'), warn: write('warn'), info: write('debug'), debug: write('debug'), verbose: write('debug') }
}
