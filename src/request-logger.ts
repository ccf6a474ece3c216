// Each request's logger (request.log), made the first time something logs through it. Fastify
// gives every request a child of the process logger, and pino's child() copies its bindings
// through the redaction pass: some 3 KB of the 48 KB a proxied GET allocated. Yet a request
// logs through it only when something goes wrong; its audit line has a logger of its own
// (auditLineLogger). So the child is made on first use, with the same bindings and options, and
// says exactly what the eager one would have said.
import type { FastifyBaseLogger } from 'fastify'
import type { Bindings, ChildLoggerOptions, LevelWithSilentOrString } from 'pino'

type Method = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace'

class RequestLogger {
  readonly #parent: FastifyBaseLogger
  readonly #bindings: Bindings
  readonly #options: ChildLoggerOptions
  #child: FastifyBaseLogger | undefined

  constructor (parent: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions) {
    this.#parent = parent
    this.#bindings = bindings
    this.#options = options
  }

  #made (): FastifyBaseLogger {
    this.#child ??= this.#parent.child(this.#bindings, this.#options)
    return this.#child
  }

  #log (method: Method, args: unknown[]): void {
    const child = this.#made()
    Reflect.apply(child[method], child, args)
  }

  get level (): LevelWithSilentOrString {
    return this.#child?.level ?? this.#options.level ?? this.#parent.level
  }

  set level (level: LevelWithSilentOrString) {
    this.#made().level = level
  }

  fatal (...args: unknown[]): void { this.#log('fatal', args) }
  error (...args: unknown[]): void { this.#log('error', args) }
  warn (...args: unknown[]): void { this.#log('warn', args) }
  info (...args: unknown[]): void { this.#log('info', args) }
  debug (...args: unknown[]): void { this.#log('debug', args) }
  trace (...args: unknown[]): void { this.#log('trace', args) }
  // pino's silent() does nothing: nothing to make a child for.
  silent (): void {}

  child (bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.#made().child(bindings, options)
  }
}

/** Fastify's childLoggerFactory: a request's logger that is made when first used. */
export function requestLoggerOnFirstUse (logger: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions): FastifyBaseLogger {
  // The log methods take what pino's take and pass it on as it is; their declared types are pino's overloads.
  return new RequestLogger(logger, bindings, options) as unknown as FastifyBaseLogger
}
