// Where the process log goes: stdout, written asynchronously (a slow reader never stalls the event
// loop), drained with a bound before the process exits. pino's own destination flushes at exit
// synchronously and retries a failed write without end, so a reader that has gone away (a closed
// pipe) hung the exit for ever; here a stdout that fails stops the log, and nothing else.
//
// Lines are handed to the descriptor in batches, at most BATCH_MS after the first of a batch was
// logged (or once BATCH_BYTES wait): one write for many lines. Writing each line on its own cost
// an asynchronous write, and a trip through libuv's thread pool, per request.
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

/** How long a line may wait for others to be written with. */
export const BATCH_MS = 10
/**
 * How much may wait (in UTF-16 code units: about bytes, for log lines) before it is handed over
 * at once: sonic-boom's own limit for one write, which some log collectors need (Docker's).
 */
export const BATCH_BYTES = 16 * 1024

/** The log on `fd` (stdout unless a test says otherwise); `batchMs` is BATCH_MS unless a test says otherwise. */
export function openStdoutLog (fd = 1, batchMs = BATCH_MS): StdoutLog {
  // Built here rather than by pino, which would register the unbounded flush at exit.
  const stream = new SonicBoom({ fd, sync: false })
  /** Lines not yet written out: waiting here, or in the stream. */
  let pending = false
  let failed = false
  let waiting: string[] = []
  let waitingLength = 0
  let timer: NodeJS.Timeout | undefined
  const handOver = (): void => {
    clearTimeout(timer)
    timer = undefined
    if (waiting.length === 0) return
    const text = waiting.join('')
    waiting = []
    waitingLength = 0
    pending = true
    stream.write(text)
  }
  // The stream is empty: lines logged while it wrote may be waiting here still.
  stream.on('drain', () => { pending = waiting.length > 0 })
  // EPIPE (nobody reads any more), EBADF, ENOSPC: the lines cannot go anywhere, and the process
  // must not stop serving, nor hang when it exits, because of that.
  stream.on('error', () => {
    failed = true
    pending = false
    waiting = []
    waitingLength = 0
  })
  return {
    destination: {
      write (line: string): void {
        if (failed) return
        pending = true
        waiting.push(line)
        waitingLength += line.length
        if (waitingLength >= BATCH_BYTES) handOver()
        else timer ??= setTimeout(handOver, batchMs)
      }
    },
    async drain (timeoutMs) {
      const signal = AbortSignal.timeout(timeoutMs)
      // Lines logged while the stream drains (closing code still logs) are handed over in turn.
      for (handOver(); pending && !signal.aborted; handOver()) {
        // Rejects on a failure or the timeout; either way the loop's test says what to do.
        await once(stream, 'drain', { signal }).catch(() => {})
      }
      return !pending && !failed
    }
  }
}
