// Where the process log goes: stdout, written asynchronously (a slow reader never stalls the event
// loop), drained with a bound before the process exits. pino's own destination flushes at exit
// synchronously and retries a failed write without end, so a reader that has gone away (a closed
// pipe) hung the exit for ever; here a stdout that fails stops the log, and nothing else.
import { once } from 'node:events'
import type { DestinationStream } from 'pino'
import sonicBoom from 'sonic-boom'

// A CommonJS module: its class is a property of what it exports (which is the class itself too).
const { SonicBoom } = sonicBoom

export interface StdoutLog {
  /** What the logger writes to. */
  destination: DestinationStream
  /**
   * Waits until every line written so far has been written out, or stdout has failed, or
   * `timeoutMs` has passed; true only in the first case.
   */
  drain (timeoutMs: number): Promise<boolean>
}

/** The log on `fd` (stdout unless a test says otherwise). */
export function openStdoutLog (fd = 1): StdoutLog {
  // Built here rather than by pino, which would register the unbounded flush at exit.
  const stream = new SonicBoom({ fd, sync: false })
  let pending = false
  let failed = false
  stream.on('drain', () => { pending = false })
  // EPIPE (nobody reads any more), EBADF, ENOSPC: the lines cannot go anywhere, and the process
  // must not stop serving, nor hang when it exits, because of that.
  stream.on('error', () => {
    failed = true
    pending = false
  })
  return {
    destination: {
      write (line: string): void {
        if (failed) return
        pending = true
        stream.write(line)
      }
    },
    async drain (timeoutMs) {
      if (pending) {
        // Rejects on a failure or the timeout; either way the answer is below.
        await once(stream, 'drain', { signal: AbortSignal.timeout(timeoutMs) }).catch(() => {})
      }
      return !pending && !failed
    }
  }
}
