/**
 * The local cache of series retrieved from DICOMweb servers:
 *   <SCN Studio home>/pacs-cache/<host_port>-<hash of base URL>/<StudyUID>/<SeriesUID>/<SOPInstanceUID>.dcm
 * A series is downloaded into a hidden temporary folder beside its final place and renamed there in
 * one step once every instance has arrived and been checked, so the cache holds whole series or
 * nothing: a series folder that exists is complete, and a partial download is never opened.
 */
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, lstatSync, readFileSync, readdirSync, realpathSync } from 'node:fs'
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import dcmjs from 'dcmjs'
import { z } from 'zod'
import { userDataDir } from '../util/app-paths.js'
import { parseDicomPart10 } from '../volumes/dicom-file.js'
import { DicomwebClient, type SeriesSummary } from './dicomweb.js'
import { PacsError } from './errors.js'
import { isDicomUid, type SeriesRef } from './refs.js'

export const MANIFEST = 'scn-pacs-series.json'

const SeriesManifestSchema = z.object({
  baseUrl: z.string(),
  studyUid: z.string(),
  seriesUid: z.string(),
  modality: z.string(),
  description: z.string(),
  instances: z.number().int().nonnegative(),
  retrievedAt: z.string(),
})
export type SeriesManifest = z.infer<typeof SeriesManifestSchema>

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

/** The folder's manifest; undefined when there is none or it is not one (edited by hand, cut short). */
export function readManifest(folder: string): SeriesManifest | undefined {
  try {
    const m = SeriesManifestSchema.safeParse(JSON.parse(readFileSync(join(folder, MANIFEST), 'utf8')))
    return m.success ? m.data : undefined
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

/** A Part 10 file's header up to Pixel Data, naturalized; undefined when the bytes are not one (or are cut inside the header). */
function part10Header(bytes: Uint8Array): Record<string, unknown> | undefined {
  if (bytes.byteLength < 132 || Buffer.from(bytes.buffer, bytes.byteOffset + 128, 4).toString('latin1') !== 'DICM') return undefined
  try {
    return dcmjs.data.DicomMetaDictionary.naturalizeDataset(parseDicomPart10(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), true).dict) as Record<string, unknown>
  } catch {
    return undefined
  }
}

/** The header of a DICOM file: a CT slice's is a few kB, so a little is read first, the whole file only when needed. */
async function readHeader(file: string): Promise<Record<string, unknown> | undefined> {
  try {
    const fh = await open(file, 'r')
    let head: Buffer
    try {
      const buf = Buffer.alloc(262144)
      const { bytesRead } = await fh.read(buf, 0, buf.length, 0)
      head = buf.subarray(0, bytesRead)
    } finally {
      await fh.close()
    }
    return part10Header(head) ?? (head.byteLength === 262144 ? part10Header(await readFile(file)) : undefined)
  } catch {
    return undefined
  }
}

function text(v: unknown): string {
  if (Array.isArray(v)) v = v[0]
  if (v && typeof v === 'object' && 'Alphabetic' in v) v = (v as { Alphabetic: unknown }).Alphabetic
  return typeof v === 'string' || typeof v === 'number' ? String(v) : ''
}

/** Real sub-folders (not links) whose names fit `name`; none when `dir` cannot be read. */
async function subfolders(dir: string, named: (name: string) => boolean): Promise<string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory() && !e.isSymbolicLink() && named(e.name)).map((e) => e.name)
  } catch {
    return []
  }
}

/**
 * Every whole series in the cache (real folders with a valid manifest; downloads in progress are
 * hidden dot-folders and never listed), newest retrieval first. Made for working offline: it reads
 * only local files and never contacts a server. A folder that vanishes meanwhile (a refresh moving
 * it aside) or holds a damaged manifest is left out, never an error for the whole list.
 */
export async function listCachedSeries(root = pacsCacheDir()): Promise<CachedSeries[]> {
  const out: CachedSeries[] = []
  for (const serverKey of await subfolders(root, (n) => CACHE_NAME.test(n))) {
    for (const study of await subfolders(join(root, serverKey), isDicomUid)) {
      for (const series of await subfolders(join(root, serverKey, study), isDicomUid)) {
        const folder = join(root, serverKey, study, series)
        const manifest = readManifest(folder)
        if (!manifest || manifest.seriesUid !== series || manifest.studyUid !== study) continue
        let files: string[]
        try {
          files = (await readdir(folder)).filter((f) => f.endsWith('.dcm')).sort()
        } catch {
          continue
        }
        const h = files.length ? ((await readHeader(join(folder, files[0]))) ?? {}) : {}
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
          ...(text(h.SeriesNumber) && Number.isInteger(seriesNumber) ? { seriesNumber } : {}),
        })
      }
    }
  }
  return out.sort((a, b) => b.manifest.retrievedAt.localeCompare(a.manifest.retrievedAt))
}

/**
 * The cache folder of a listed series from its names, with its manifest, refusing anything that is
 * not one: names that are not cache names or UIDs, a link anywhere on the way (the listing skips
 * links too), a folder that resolves outside the cache root, a manifest naming another series.
 * No path from the caller is trusted.
 */
export function cachedSeriesFolder(serverKey: string, studyUid: string, seriesUid: string, root = pacsCacheDir()): { folder: string; manifest: SeriesManifest } | undefined {
  if (!CACHE_NAME.test(serverKey) || !isDicomUid(studyUid) || !isDicomUid(seriesUid)) return undefined
  const parts = [serverKey, studyUid, seriesUid]
  try {
    for (let i = 1; i <= parts.length; i++) {
      const st = lstatSync(join(root, ...parts.slice(0, i)))
      if (!st.isDirectory() || st.isSymbolicLink()) return undefined
    }
    const folder = join(root, ...parts)
    // exact names only (a case-insensitive file system would open "ABC" for "abc": another path, the same series)
    if (realpathSync.native(folder) !== join(realpathSync.native(root), ...parts)) return undefined
    const manifest = readManifest(folder)
    return manifest && manifest.studyUid === studyUid && manifest.seriesUid === seriesUid ? { folder, manifest } : undefined
  } catch {
    return undefined
  }
}

/** The UIDs an instance names itself by (Part 10 header up to Pixel Data); undefined if not DICOM. */
function instanceUids(bytes: Uint8Array): { series: string; sop: string } | undefined {
  const n = part10Header(bytes)
  return n && { series: String(n.SeriesInstanceUID ?? '').replace(/[\0 ]+$/, ''), sop: String(n.SOPInstanceUID ?? '').replace(/[\0 ]+$/, '') }
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
        // the file is named by its UID, which searchInstances checked: the server's bytes must carry the same one
        if (uids.sop !== inst.sopInstanceUid) throw new PacsError('bad-instance', client.label, seriesUid, `instance ${inst.sopInstanceUid} was sent as a file whose SOP Instance UID is ${JSON.stringify(uids.sop.slice(0, 80))}`)
        await writeDurable(join(tmp, `${inst.sopInstanceUid}.dcm`), bytes)
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
