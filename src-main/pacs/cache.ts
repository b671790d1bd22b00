/**
 * The local cache of series retrieved from DICOMweb servers:
 *   <SCN Studio home>/pacs-cache/<host_port>-<hash of base URL>/<StudyUID>/<SeriesUID>/<SOPInstanceUID>.dcm
 * A series is downloaded into a hidden temporary folder beside its final place and renamed there in
 * one step once every instance has arrived and been checked, so the cache holds whole series or
 * nothing: a series folder that exists is complete, and a partial download is never opened.
 */
import { createHash, randomBytes } from 'node:crypto'
import { closeSync, existsSync, openSync, readFileSync, readSync, readdirSync } from 'node:fs'
import { mkdir, open, rename, rm } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import dcmjs from 'dcmjs'
import { userDataDir } from '../util/app-paths.js'
import { DicomwebClient, type SeriesSummary } from './dicomweb.js'
import { PacsError } from './errors.js'
import type { SeriesRef } from './refs.js'

export const MANIFEST = 'scn-pacs-series.json'

export interface SeriesManifest {
  baseUrl: string
  studyUid: string
  seriesUid: string
  modality: string
  description: string
  instances: number
  retrievedAt: string
}

export interface RetrieveProgress {
  received: number
  total: number
  bytes: number
}

export interface FetchSeriesOptions {
  /** refuse (before downloading) a series whose modality is not CT */
  requireCt?: boolean
  onProgress?: (p: RetrieveProgress) => void | Promise<void>
  signal?: AbortSignal
  /** cache root; default <home>/pacs-cache */
  cacheDir?: string
  /** instances in flight at once */
  concurrency?: number
  /** download again even when the cache holds the series */
  refresh?: boolean
  client?: DicomwebClient
}

export interface FetchedSeries {
  folder: string
  manifest: SeriesManifest
  fromCache: boolean
}

export function pacsCacheDir(): string {
  return join(userDataDir(), 'pacs-cache')
}

/** The cache's folder name for a server: <host_port>-<hash of the base URL>. */
export function serverCacheKey(baseUrl: string): string {
  const u = new URL(baseUrl)
  const key = `${u.hostname}_${u.port || (u.protocol === 'https:' ? '443' : '80')}-${createHash('sha256').update(baseUrl).digest('hex').slice(0, 12)}`
  return key.replace(/[^A-Za-z0-9_.-]/g, '_')
}

export function seriesCacheFolder(ref: SeriesRef, root = pacsCacheDir()): string {
  return join(root, serverCacheKey(ref.server.baseUrl), ref.studyUid, ref.seriesUid)
}

export function readManifest(folder: string): SeriesManifest | undefined {
  try {
    return JSON.parse(readFileSync(join(folder, MANIFEST), 'utf8')) as SeriesManifest
  } catch {
    return undefined
  }
}

/** A series kept in the cache, as listed for a user without the server (offline). */
export interface CachedSeries {
  /** the cache folder: a DICOM series folder that opens like any other */
  folder: string
  /** the cache's name for the server's folder (<host_port>-<hash>): with the UIDs it names the series */
  serverKey: string
  manifest: SeriesManifest
  /** DICOM files present now (the manifest's count unless someone removed files by hand) */
  filesPresent: number
  /** from the first instance's header (the manifest predates these); '' when absent */
  patientName: string
  patientId: string
  studyDate: string
  studyDescription: string
  seriesNumber?: number
}

const CACHE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/

/** The header of a DICOM file up to Pixel Data, naturalized; undefined when it is not one. */
function readHeader(file: string): Record<string, unknown> | undefined {
  let bytes: Buffer
  try {
    // the header of a CT slice is a few kB: read a little first, the whole file only when needed
    const fd = openSync(file, 'r')
    try {
      const head = Buffer.alloc(262144)
      const n = readSync(fd, head, 0, head.length, 0)
      bytes = head.subarray(0, n)
    } finally {
      closeSync(fd)
    }
    if (bytes.byteLength < 132 || bytes.toString('latin1', 128, 132) !== 'DICM') return undefined
    const parse = (b: Buffer) => {
      const ab = b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer
      return dcmjs.data.DicomMetaDictionary.naturalizeDataset(dcmjs.data.DicomMessage.readFile(ab, { untilTag: '7FE00010', includeUntilTagValue: false }).dict) as Record<string, unknown>
    }
    try {
      return parse(bytes)
    } catch {
      return parse(readFileSync(file))
    }
  } catch {
    return undefined
  }
}

function text(v: unknown): string {
  if (Array.isArray(v)) v = v[0]
  if (v && typeof v === 'object' && 'Alphabetic' in v) v = (v as { Alphabetic: unknown }).Alphabetic
  return typeof v === 'string' || typeof v === 'number' ? String(v) : ''
}

/**
 * Every whole series in the cache (folders with a manifest; downloads in progress are hidden
 * dot-folders and never listed), newest retrieval first. Made for working offline: it reads only
 * local files and never contacts a server.
 */
export function listCachedSeries(root = pacsCacheDir()): CachedSeries[] {
  const dirs = (p: string) => {
    try {
      return readdirSync(p, { withFileTypes: true }).filter((e) => e.isDirectory() && CACHE_NAME.test(e.name)).map((e) => e.name)
    } catch {
      return []
    }
  }
  const out: CachedSeries[] = []
  for (const serverKey of dirs(root)) {
    for (const study of dirs(join(root, serverKey))) {
      for (const series of dirs(join(root, serverKey, study))) {
        const folder = join(root, serverKey, study, series)
        const manifest = readManifest(folder)
        if (!manifest || manifest.seriesUid !== series || manifest.studyUid !== study) continue
        const files = readdirSync(folder).filter((f) => f.endsWith('.dcm')).sort()
        const h = files.length ? (readHeader(join(folder, files[0])) ?? {}) : {}
        const seriesNumber = Number(text(h.SeriesNumber))
        out.push({
          folder,
          serverKey,
          manifest,
          filesPresent: files.length,
          patientName: text(h.PatientName),
          patientId: text(h.PatientID),
          studyDate: text(h.StudyDate),
          studyDescription: text(h.StudyDescription),
          ...(text(h.SeriesNumber) && Number.isFinite(seriesNumber) ? { seriesNumber } : {}),
        })
      }
    }
  }
  return out.sort((a, b) => b.manifest.retrievedAt.localeCompare(a.manifest.retrievedAt))
}

/** The cache folder of a listed series from its names, refusing anything that is not one (no path from the caller is trusted). */
export function cachedSeriesFolder(serverKey: string, studyUid: string, seriesUid: string, root = pacsCacheDir()): string | undefined {
  const uid = /^[0-9]+(\.[0-9]+)*$/
  if (!CACHE_NAME.test(serverKey) || !uid.test(studyUid) || !uid.test(seriesUid)) return undefined
  const folder = join(root, serverKey, studyUid, seriesUid)
  const m = readManifest(folder)
  return m && m.studyUid === studyUid && m.seriesUid === seriesUid ? folder : undefined
}

/** The UIDs an instance names itself by (Part 10 header up to Pixel Data); undefined if not DICOM. */
function instanceUids(bytes: Uint8Array): { series: string; sop: string } | undefined {
  if (bytes.byteLength < 132 || Buffer.from(bytes.buffer, bytes.byteOffset + 128, 4).toString('latin1') !== 'DICM') return undefined
  try {
    const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer
    const parsed = dcmjs.data.DicomMessage.readFile(ab, { untilTag: '7FE00010', includeUntilTagValue: false })
    const n = dcmjs.data.DicomMetaDictionary.naturalizeDataset(parsed.dict) as Record<string, unknown>
    return { series: String(n.SeriesInstanceUID ?? ''), sop: String(n.SOPInstanceUID ?? '') }
  } catch {
    return undefined
  }
}

async function writeDurable(file: string, data: Uint8Array): Promise<void> {
  const fh = await open(file, 'wx')
  try {
    await fh.writeFile(data)
    await fh.sync()
  } finally {
    await fh.close()
  }
}

/** Remove temporary folders of downloads whose process is gone (a crash or kill -9). */
async function removeStalePartials(parent: string, seriesUid: string): Promise<void> {
  if (!existsSync(parent)) return
  for (const name of readdirSync(parent)) {
    const m = new RegExp(`^\\.${seriesUid.replace(/\./g, '\\.')}\\.(partial|old)-(\\d+)-`).exec(name)
    if (!m) continue
    const pid = Number(m[2])
    let alive = pid !== process.pid
    if (alive) {
      try {
        process.kill(pid, 0)
      } catch {
        alive = false
      }
    }
    if (!alive || m[1] === 'old') await rm(join(parent, name), { recursive: true, force: true })
  }
}

/**
 * The series as a local DICOM folder: from the cache when it holds the series with the instance
 * count the server lists now, else retrieved (WADO-RS, `concurrency` instances at a time), checked
 * (each a DICOM file of this series, all listed instances present) and moved into the cache whole.
 */
export async function fetchSeries(ref: SeriesRef, opts: FetchSeriesOptions = {}): Promise<FetchedSeries> {
  const client = opts.client ?? new DicomwebClient(ref.server)
  const { studyUid, seriesUid } = ref
  const info: SeriesSummary = await client.seriesInfo(studyUid, seriesUid, opts.signal)
  if (opts.requireCt && info.modality && info.modality !== 'CT') {
    throw new PacsError('not-ct', client.label, seriesUid, `this series is ${info.modality}${info.description ? ` ("${info.description}")` : ''}, not CT: the SCN segments CT only`)
  }
  const folder = seriesCacheFolder(ref, opts.cacheDir)
  const cached = readManifest(folder)
  if (cached && !opts.refresh && (info.instanceCount === undefined || cached.instances === info.instanceCount)) {
    return { folder, manifest: cached, fromCache: true }
  }

  const instances = await client.searchInstances(studyUid, seriesUid, info.instanceCount, opts.signal)
  if (instances.length === 0) throw new PacsError('not-found', client.label, seriesUid, 'the server lists no instances in this series')
  if (info.instanceCount !== undefined && instances.length < info.instanceCount) {
    throw new PacsError('incomplete', client.label, seriesUid, `the server lists ${instances.length} instances but says the series has ${info.instanceCount}`)
  }

  const parent = dirname(folder)
  await mkdir(parent, { recursive: true })
  await removeStalePartials(parent, seriesUid)
  const tmp = join(parent, `.${seriesUid}.partial-${process.pid}-${randomBytes(4).toString('hex')}`)
  await mkdir(tmp)
  // one failure stops the other requests in flight
  const stop = new AbortController()
  const signal = opts.signal ? AbortSignal.any([opts.signal, stop.signal]) : stop.signal
  const progress: RetrieveProgress = { received: 0, total: instances.length, bytes: 0 }
  try {
    await opts.onProgress?.({ ...progress })
    let next = 0
    const worker = async () => {
      while (next < instances.length && !signal.aborted) {
        const inst = instances[next++]
        const bytes = await client.retrieveInstance(studyUid, seriesUid, inst.sopInstanceUid, signal)
        const uids = instanceUids(bytes)
        if (!uids) throw new PacsError('bad-instance', client.label, seriesUid, `instance ${inst.sopInstanceUid} is not a DICOM Part 10 file`)
        if (uids.series !== seriesUid) throw new PacsError('bad-instance', client.label, seriesUid, `instance ${inst.sopInstanceUid} belongs to series ${uids.series}, not to this one`)
        const name = /^[0-9.]{1,64}$/.test(uids.sop) ? uids.sop : inst.sopInstanceUid
        await writeDurable(join(tmp, `${name}.dcm`), bytes)
        progress.received++
        progress.bytes += bytes.byteLength
        await opts.onProgress?.({ ...progress })
      }
    }
    const workers = Array.from({ length: Math.max(1, Math.min(opts.concurrency ?? 4, instances.length)) }, () =>
      worker().catch((e) => {
        stop.abort()
        throw e
      }),
    )
    const results = await Promise.allSettled(workers)
    // the first real failure, not the "cancelled" of the workers it stopped
    const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason)
    const first = failures.find((e) => !(e instanceof PacsError && e.code === 'cancelled')) ?? failures[0]
    if (first) throw first
    if (opts.signal?.aborted) throw new PacsError('cancelled', client.label, seriesUid, 'retrieval cancelled: nothing was kept')
    if (progress.received !== instances.length) {
      throw new PacsError('incomplete', client.label, seriesUid, `received ${progress.received} of ${instances.length} instances`)
    }
    const manifest: SeriesManifest = {
      baseUrl: ref.server.baseUrl,
      studyUid,
      seriesUid,
      modality: info.modality,
      description: info.description,
      instances: instances.length,
      retrievedAt: new Date().toISOString(),
    }
    await writeDurable(join(tmp, MANIFEST), Buffer.from(JSON.stringify(manifest, null, 2) + '\n'))
    // an older copy (the server's series changed) moves aside first: rename cannot replace a full folder
    if (existsSync(folder)) await rename(folder, join(parent, `.${seriesUid}.old-${process.pid}-${randomBytes(4).toString('hex')}`))
    await rename(tmp, folder)
    await removeStalePartials(parent, seriesUid)
    return { folder, manifest, fromCache: false }
  } catch (e) {
    stop.abort()
    await rm(tmp, { recursive: true, force: true })
    if (e instanceof PacsError) {
      if (e.code === 'cancelled') throw new PacsError('cancelled', client.label, seriesUid, 'retrieval cancelled: nothing was kept')
      throw new PacsError(e.code, e.server, e.series ?? seriesUid, `${e.problem}; retrieval stopped after ${progress.received} of ${progress.total} instances, nothing was kept`, { cause: e.cause })
    }
    throw new PacsError('interrupted', client.label, seriesUid, `retrieval failed after ${progress.received} of ${progress.total} instances (${(e as Error).message}); nothing was kept`, { cause: e })
  }
}
