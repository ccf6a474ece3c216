// Whether a test can use Docker here: a daemon, the images it starts from (pulled now, so a
// slow registry fails here rather than mid-test) and, when asked, the compose plugin. Tests that
// need Docker skip with the reason this gives; there is no Docker on most development machines.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

export const run = promisify(execFile)

/** Why Docker cannot be used, or undefined when it can. */
export async function dockerUnavailable ({ images, compose = false }: { images: string[], compose?: boolean }): Promise<string | undefined> {
  try {
    await run('docker', ['info'], { timeout: 10_000 })
  } catch {
    return 'no Docker daemon on this machine'
  }
  if (compose) {
    try {
      await run('docker', ['compose', 'version'], { timeout: 10_000 })
    } catch {
      return 'no Docker Compose plugin on this machine'
    }
  }
  for (const image of images) {
    try {
      await run('docker', ['pull', image], { timeout: 300_000 })
    } catch {
      return `the image ${image} cannot be pulled here`
    }
  }
  return undefined
}
