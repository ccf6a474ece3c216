// A test file killed on its timeout must not leave the processes it started running (a proxy
// still listening, a CLI still holding a database): they exit when their parent dies.
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { spawnChild } from './helpers/spawn-child.js'

/** Running, as Linux sees it: an exited child no one has reaped yet (a zombie) is not. */
function alive (pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return false
  }
}

t.test('a child started through spawnChild exits when its parent is killed with SIGKILL', async (t) => {
  const parent = spawnChild(process.execPath, ['--import', 'tsx', 'test/fixtures/spawns-a-child.ts'], {})
  t.teardown(() => parent.kill('SIGKILL'))
  const [line] = await once(parent.stdout, 'data') as [Buffer]
  const pid = Number(line.toString().trim())
  t.ok(Number.isInteger(pid) && pid > 0, `the child's pid: ${pid}`)
  t.teardown(() => { if (alive(pid)) process.kill(pid, 'SIGKILL') })
  t.ok(alive(pid), 'the child runs while its parent does')
  parent.kill('SIGKILL')
  await once(parent, 'exit')
  for (let wait = 0; wait < 200 && alive(pid); wait++) await sleep(50)
  t.notOk(alive(pid), 'the child is gone within 10 s of its parent')
})

t.test('a child whose parent lives on keeps running', async (t) => {
  const child = spawnChild(process.execPath, ['-e', 'setTimeout(() => process.stdout.write("still here"), 200)'], {})
  let out = ''
  child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString() })
  const [code] = await once(child, 'exit') as [number | null]
  t.equal(code, 0)
  t.equal(out, 'still here', 'the preload neither ends nor holds a process whose parent is alive')
})
