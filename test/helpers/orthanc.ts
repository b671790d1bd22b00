/**
 * A real Orthanc (Debian's `orthanc` + `orthanc-dicomweb`) for the DICOMweb tests: started on a free
 * loopback port with a temporary storage folder and a generated configuration (DICOMweb plugin on,
 * DICOM network off, HTTP basic authentication on), never the system service; stopped afterwards.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export const ORTHANC_BIN = ['/usr/sbin/Orthanc', '/usr/bin/Orthanc'].find((p) => existsSync(p))
export const DICOMWEB_PLUGIN = ['/usr/share/orthanc/plugins/libOrthancDicomWeb.so', '/usr/lib/orthanc/libOrthancDicomWeb.so'].find((p) => existsSync(p))
export const HAS_ORTHANC = Boolean(ORTHANC_BIN && DICOMWEB_PLUGIN)
export const NEEDS_ORTHANC = 'needs Debian packages orthanc and orthanc-dicomweb (.ci/run installs them)'

export interface OrthancOptions {
  /** basic authentication users; default { scn: 'scn-secret' } */
  users?: Record<string, string>
}

export interface Orthanc {
  port: number
  /** http://127.0.0.1:<port> (Orthanc's REST API) */
  url: string
  /** the DICOMweb root */
  dicomweb: string
  user: string
  password: string
  process: ChildProcess
  /** REST call with the test credentials; JSON answer */
  rest<T = unknown>(path: string, init?: { method?: string; body?: Uint8Array | string }): Promise<T>
  /** REST call returning the raw bytes */
  restBytes(path: string): Promise<Uint8Array>
  /** POST /instances for each file; returns Orthanc's instance ids */
  upload(files: string[]): Promise<string[]>
  /** SIGKILL the server and wait until it is gone */
  kill(): Promise<void>
  /** stop (if running) and delete the storage */
  stop(): Promise<void>
  log(): string
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.unref()
    s.on('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })
}

function exited(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve()
  return new Promise((r) => p.once('exit', () => r()))
}

export async function startOrthanc(opts: OrthancOptions = {}): Promise<Orthanc> {
  if (!HAS_ORTHANC) throw new Error(NEEDS_ORTHANC)
  const users = opts.users ?? { scn: 'scn-secret' }
  const [user, password] = Object.entries(users)[0]
  const dir = mkdtempSync(join(tmpdir(), 'scn-orthanc-'))
  const port = await freePort()
  const config = {
    Name: 'SCN-TEST',
    StorageDirectory: join(dir, 'db'),
    IndexDirectory: join(dir, 'db'),
    StorageCompression: false,
    HttpPort: port,
    RemoteAccessAllowed: false, // loopback only
    AuthenticationEnabled: true,
    RegisteredUsers: users,
    DicomServerEnabled: false,
    DicomPort: 0,
    HttpCompressionEnabled: false,
    SaveJobs: false,
    Plugins: [DICOMWEB_PLUGIN],
    DicomWeb: { Enable: true, Root: '/dicom-web/', EnableWado: false, Host: `127.0.0.1:${port}`, Ssl: false },
  }
  const cfgFile = join(dir, 'orthanc.json')
  writeFileSync(cfgFile, JSON.stringify(config, null, 2))
  let log = ''
  const child = spawn(ORTHANC_BIN!, [cfgFile], { stdio: ['ignore', 'pipe', 'pipe'] })
  child.stdout!.on('data', (d) => (log += d))
  child.stderr!.on('data', (d) => (log += d))
  const url = `http://127.0.0.1:${port}`
  const authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`

  const restRaw = async (path: string, init: { method?: string; body?: Uint8Array | string } = {}) => {
    const res = await fetch(`${url}${path}`, { method: init.method ?? 'GET', headers: { authorization }, body: init.body as BodyInit | undefined })
    const bytes = new Uint8Array(await res.arrayBuffer())
    if (!res.ok) throw new Error(`Orthanc ${init.method ?? 'GET'} ${path}: ${res.status} ${Buffer.from(bytes).toString('utf8').slice(0, 300)}`)
    return bytes
  }
  const o: Orthanc = {
    port,
    url,
    dicomweb: `${url}/dicom-web`,
    user,
    password,
    process: child,
    rest: async <T>(path: string, init?: { method?: string; body?: Uint8Array | string }) => JSON.parse(Buffer.from(await restRaw(path, init)).toString('utf8')) as T,
    restBytes: (path) => restRaw(path),
    upload: async (files) => {
      const ids: string[] = []
      for (const f of files) ids.push((await o.rest<{ ID: string }>('/instances', { method: 'POST', body: readFileSync(f) })).ID)
      return ids
    },
    kill: async () => {
      child.kill('SIGKILL')
      await exited(child)
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM')
        const t = setTimeout(() => child.kill('SIGKILL'), 5000)
        await exited(child)
        clearTimeout(t)
      }
      rmSync(dir, { recursive: true, force: true })
    },
    log: () => log,
  }
  // ready when the REST API answers; give up (with its log) if it exits or takes too long
  const t0 = Date.now()
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      rmSync(dir, { recursive: true, force: true })
      throw new Error(`Orthanc exited during start-up (${child.exitCode ?? child.signalCode}):\n${log.slice(-2000)}`)
    }
    try {
      await o.rest('/system')
      return o
    } catch {
      if (Date.now() - t0 > 30_000) {
        await o.stop()
        throw new Error(`Orthanc did not answer on port ${port} within 30 s:\n${log.slice(-2000)}`)
      }
      await new Promise((r) => setTimeout(r, 100))
    }
  }
}
