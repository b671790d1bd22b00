/**
 * A private redis-server for tests: a free loopback port, a temporary working folder, no
 * persistence (`--save ''`, `--appendonly no`), stopped and removed afterwards. Never the system's
 * Redis, never anything on disk outside the temporary folder.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createConnection, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export const REDIS_SERVER = process.env.SCN_STUDIO_REDIS_SERVER ?? 'redis-server'
export const hasRedisServer = spawnSync(REDIS_SERVER, ['--version'], { encoding: 'utf8' }).status === 0
export const NEEDS_REDIS = 'needs redis-server (Debian package redis-server)'

export interface PrivateRedis {
  url: string
  port: number
  stop(): Promise<void>
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })
}

/** The pid of the redis-server answering on `port` (null: none answers yet). Compared with our own
 * child's pid: another test's server that took the port between probe and bind must not pass. */
function serverPid(port: number): Promise<number | null> {
  return new Promise((resolve) => {
    const c = createConnection({ host: '127.0.0.1', port })
    let buf = ''
    c.setTimeout(500, () => {
      c.destroy()
      resolve(null)
    })
    c.on('connect', () => c.write('INFO server\r\n'))
    c.on('data', (d) => {
      buf += d.toString()
      const m = /process_id:(\d+)/.exec(buf)
      if (m) {
        c.end()
        resolve(Number(m[1]))
      }
    })
    c.on('error', () => resolve(null))
  })
}

/** `port`: start on this one (a restart of a stopped server), else on a free one. */
export async function startRedis(port?: number): Promise<PrivateRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'scn-redis-'))
  let lastError = ''
  for (let attempt = 0; attempt < 3; attempt++) {
    const p = port ?? (await freePort())
    const proc: ChildProcess = spawn(
      REDIS_SERVER,
      ['--port', String(p), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--protected-mode', 'yes', '--loglevel', 'warning'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let output = ''
    proc.stdout!.on('data', (d) => (output += d))
    proc.stderr!.on('data', (d) => (output += d))
    let exited = false
    proc.once('exit', () => (exited = true))
    const t = Date.now()
    while (!exited && Date.now() - t < 10_000) {
      if ((await serverPid(p)) === proc.pid) {
        return {
          url: `redis://127.0.0.1:${p}`,
          port: p,
          stop: async () => {
            if (!exited) {
              const gone = new Promise((r) => proc.once('exit', r))
              proc.kill('SIGTERM')
              await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))])
              if (!exited) proc.kill('SIGKILL')
            }
            rmSync(dir, { recursive: true, force: true })
          },
        }
      }
      await new Promise((r) => setTimeout(r, 50))
    }
    if (!exited) proc.kill('SIGKILL')
    lastError = output.trim()
  }
  rmSync(dir, { recursive: true, force: true })
  throw new Error(`redis-server did not start: ${lastError}`)
}
