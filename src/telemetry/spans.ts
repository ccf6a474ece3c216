// The proxy's own spans (the policy decision, audit writes) around a piece of async work. Without
// a registered tracer provider the API hands out non-recording spans: a few no-op calls.
import { SpanStatusCode, trace, type Span } from '@opentelemetry/api'
import { VERSION } from '../version.js'

/**
 * Runs `work` inside a span named `name`, a child of the active one. A rejection marks the span
 * failed with the error's code or class only: messages can name callers, hosts or stores.
 */
export async function inSpan<T> (name: string, work: (span: Span) => Promise<T>): Promise<T> {
  // Looked up each time: a tracer kept from an earlier provider would outlive its shutdown.
  return await trace.getTracer('codeocean-proxy', VERSION).startActiveSpan(name, async (span) => {
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
  })
}
