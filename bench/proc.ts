// What the kernel says about a process: CPU time used (utime + stime from /proc/<pid>/stat, all
// threads) and memory (VmRSS now, VmHWM its peak, from /proc/<pid>/status).
import { readdir, readFile } from 'node:fs/promises'

/** Clock ticks per second (`getconf CLK_TCK`): 100 on every Linux the benchmark runs on. */
const TICKS_PER_SECOND = 100

/** CPU time the processes have used so far, in µs. */
export async function cpuMicros (pids: readonly number[]): Promise<number> {
  let ticks = 0
  for (const pid of pids) {
    const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).replace(/^.*\) /s, '').split(' ')
    ticks += Number(fields[11]) + Number(fields[12])
  }
  return ticks / TICKS_PER_SECOND * 1e6
}

/** VmRSS (resident now) or VmHWM (peak resident) of the processes together, in MB (10⁶ bytes). */
export async function memoryMB (pids: readonly number[], field: 'VmRSS' | 'VmHWM'): Promise<number> {
  let kib = 0
  for (const pid of pids) {
    const status = await readFile(`/proc/${pid}/status`, 'utf8')
    kib += Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? Number.NaN)
  }
  return kib * 1024 / 1e6
}

/** The processes whose parent is `parent` (nginx's workers). */
export async function childPids (parent: number): Promise<number[]> {
  const pids: number[] = []
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const fields = (await readFile(`/proc/${entry}/stat`, 'utf8')).replace(/^.*\) /s, '').split(' ')
      if (Number(fields[1]) === parent) pids.push(Number(entry))
    } catch {
      // Gone between readdir and readFile.
    }
  }
  return pids
}
