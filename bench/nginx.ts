// nginx as a reference forwarder, when it is installed: its own configuration in the benchmark's
// temp directory, one worker, a loopback port, kept-alive upstream connections, the credential set.
import { execFile } from 'node:child_process'
import { access, mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { freePort, startChild, waitForHttp, type Child } from './children.js'
import { childPids } from './proc.js'

/** The nginx binary on PATH or in /usr/sbin, or undefined. */
export async function findNginx (): Promise<string | undefined> {
  for (const directory of [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/local/sbin']) {
    const candidate = join(directory, 'nginx')
    try {
      await access(candidate)
      return candidate
    } catch {}
  }
  return undefined
}

export async function nginxVersion (binary: string): Promise<string> {
  const { stderr } = await promisify(execFile)(binary, ['-v'])
  return stderr.trim().replace(/^nginx version: nginx\//, '')
}

export interface Nginx {
  child: Child
  url: string
  /** The master and its worker: the CPU and memory counted for nginx. */
  pids: number[]
}

export async function startNginx (binary: string, directory: string, upstream: string, authorization: string): Promise<Nginx> {
  const prefix = join(directory, 'nginx')
  await mkdir(prefix, { recursive: true })
  const port = await freePort()
  const conf = join(prefix, 'nginx.conf')
  // Running as root, nginx would switch its workers to `nobody`: keep them the current user.
  const user = process.getuid?.() === 0 ? 'user root;\n' : ''
  await writeFile(conf, `${user}daemon off;
master_process on;
worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  # nginx closes a client's connection after 1,000 requests by default, which the load sees as a reset.
  keepalive_requests 1000000;
  client_body_temp_path ${prefix}/client_body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  upstream simulator {
    server ${new URL(upstream).host};
    keepalive 64;
    # Below the simulator's (Node's) 5 s keep-alive timeout, so nginx never reuses a connection it is closing.
    keepalive_timeout 4s;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://simulator;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Authorization "${authorization}";
    }
  }
}
`)
  const url = `http://127.0.0.1:${port}`
  const child = await startChild(binary, ['-p', prefix, '-c', conf, '-e', join(prefix, 'error.log')], { env: {}, log: join(prefix, 'stdout.log'), ready: /^/ })
  await waitForHttp(url)
  return { child, url, pids: [child.pid, ...await childPids(child.pid)] }
}
