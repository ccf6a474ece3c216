// The proxy's own spans (the policy decision, audit writes) around a piece of async work. Without
// a registered tracer provider the API hands out non-recording spans, and the work runs as it is.
import { SpanStatusCode, trace, type Span } from '@opentelemetry/api'
import { VERSION } from '../version.js'

/** Runs `work` inside a span named `name`, a child of the active one. */
export function inSpan<T> (name: string, work: (span: Span) => Promise<T>): Promise<T> {
  // Looked up each time: a tracer kept from an earlier provider would outlive its shutdown.
  return trace.getTracer('codeocean-proxy', VERSION).startActiveSpan(name, (span) => span.isRecording() ? recorded(span, work) : work(span))
}

/** Ends the span when the work settles; a rejection marks it failed with the error's code or class only (messages can name callers, hosts or stores). */
async function recorded<T> (span: Span, work: (span: Span) => Promise<T>): Promise<T> {
  try {
    const result = await work(span)
    span.end()
    return result
  } catch (error) {
    const { code, name } = error as { code?: unknown, name?: unknown }
    span.setAttribute('error.type', String(code ?? name))
    span.setStatus({ code: SpanStatusCode.ERROR })
    span.end()
    throw error
  }
}
