/**
 * The DICOMweb source as the commands use it: turn a series URL into a cached local DICOM folder
 * (so everything after works as for a folder), and store files back with STOW-RS.
 */
import { readFile } from 'node:fs/promises'
import dcmjs from 'dcmjs'
import { fetchSeries, listCachedSeries, serverCacheKey, type RetrieveProgress } from './cache.js'
import { DicomwebClient, type StowResult } from './dicomweb.js'
import { PacsError } from './errors.js'
import { parseDicomPart10 } from '../volumes/dicom-file.js'
import { isPacsInput, parseSeriesRef } from './refs.js'
import { loadServers, resolveServer, type PacsServer } from './servers.js'

export { PacsError } from './errors.js'
export { DicomwebClient } from './dicomweb.js'
export { fetchSeries, pacsCacheDir, seriesCacheFolder } from './cache.js'
export { isPacsInput, parseSeriesRef, parseStudyRef, seriesUrl } from './refs.js'
export { loadServers, addServer, removeServer, resolveServer, publicServer, serverLabel } from './servers.js'

/**
 * The series kept in the cache as the app and `pacs cached` list them, newest first: what it is,
 * where it came from (the configured server's name; null when none has that URL any more) and its
 * folder. Local files only: no server is contacted, and an unreadable servers file only loses the
 * names.
 */
export async function cachedSeriesRows(root?: string) {
  let servers: PacsServer[] = []
  try {
    servers = loadServers()
  } catch {
    /* the list is still the user's series; the names come back with a readable servers file */
  }
  const byKey = new Map(servers.map((s) => [serverCacheKey(s.baseUrl), s.name ?? null]))
  return (await listCachedSeries(root)).map((c) => ({
    folder: c.folder,
    serverKey: c.serverKey,
    server: byKey.get(c.serverKey) ?? null,
    baseUrl: c.manifest.baseUrl,
    studyUid: c.manifest.studyUid,
    seriesUid: c.manifest.seriesUid,
    modality: c.manifest.modality,
    description: c.manifest.description,
    ...(c.seriesNumber !== undefined ? { seriesNumber: c.seriesNumber } : {}),
    instances: c.manifest.instances,
    filesPresent: c.filesPresent,
    retrievedAt: c.manifest.retrievedAt,
    patientName: c.patientName,
    patientId: c.patientId,
    studyDate: c.studyDate,
    studyDescription: c.studyDescription,
  }))
}

/** Progress of a retrieval on stderr: a bar on a terminal, a few plain lines otherwise. */
export function retrievalPrinter(what: string, tty = Boolean(process.stderr.isTTY)): { onProgress: (p: RetrieveProgress) => void; done: () => void } {
  let lastQuarter = -1
  let drawn = false
  return {
    onProgress: (p) => {
      const pct = p.total ? Math.floor((100 * p.received) / p.total) : 0
      const text = `retrieving ${what}: ${p.received}/${p.total} instances, ${(p.bytes / 2 ** 20).toFixed(1)} MB`
      if (tty) {
        process.stderr.write(`\r[${pct.toString().padStart(3)}%] ${text}`.slice(0, (process.stderr.columns || 100) - 1))
        drawn = true
      } else if (Math.floor(pct / 25) !== lastQuarter) {
        lastQuarter = Math.floor(pct / 25)
        process.stderr.write(`[${pct.toString().padStart(3)}%] ${text}\n`)
      }
    },
    done: () => {
      if (drawn) process.stderr.write('\n')
    },
  }
}

/**
 * A command's input as a local path: a PACS series URL (or `<server name>/studies/..`) is retrieved
 * into the cache (or found there) and its folder returned; anything else is returned as is.
 */
export async function resolveSeriesInput(input: string, opts: { requireCt?: boolean; signal?: AbortSignal; quiet?: boolean } = {}): Promise<string> {
  if (!isPacsInput(input)) return input
  const ref = parseSeriesRef(input)
  const printer = opts.quiet ? undefined : retrievalPrinter(`series ${ref.seriesUid}`)
  try {
    const r = await fetchSeries(ref, { requireCt: opts.requireCt, signal: opts.signal, onProgress: printer?.onProgress })
    return r.folder
  } finally {
    printer?.done()
  }
}

export interface StowedFile {
  file: string
  studyUid: string
  seriesUid: string
  sopInstanceUid: string
  retrieveUrl?: string
}

/** STOW-RS the given DICOM files to a server (name or URL); throws unless every one was stored. */
export async function stowFiles(base: string, files: string[]): Promise<{ server: string; stored: StowedFile[] }> {
  const server = resolveServer(base)
  const client = new DicomwebClient(server)
  const items = await Promise.all(
    files.map(async (file) => {
      const buf = await readFile(file)
      const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)
      let n: Record<string, unknown>
      try {
        n = dcmjs.data.DicomMetaDictionary.naturalizeDataset(parseDicomPart10(buf, true).dict) as Record<string, unknown>
      } catch (e) {
        throw new PacsError('bad-instance', client.label, undefined, `${file} is not a readable DICOM file (${(e as Error).message}); nothing was sent`)
      }
      return { file, bytes, studyUid: String(n.StudyInstanceUID ?? ''), seriesUid: String(n.SeriesInstanceUID ?? ''), sopInstanceUid: String(n.SOPInstanceUID ?? '') }
    }),
  )
  const series = items.map((i) => i.seriesUid).join(', ')
  const r: StowResult = await client.store(
    items.map((i) => i.bytes),
    { series },
  )
  const failed = r.failed.length ? r.failed : items.filter((i) => !r.stored.some((s) => s.sopInstanceUid === i.sopInstanceUid)).map((i) => ({ sopInstanceUid: i.sopInstanceUid, reason: undefined }))
  if (failed.length) {
    throw new PacsError('stow-failed', client.label, series, `the server did not store ${failed.map((f) => `instance ${f.sopInstanceUid}${f.reason !== undefined ? ` (failure reason 0x${f.reason.toString(16).toUpperCase()})` : ''}`).join(', ')}`)
  }
  return {
    server: client.label,
    stored: items.map((i) => ({ file: i.file, studyUid: i.studyUid, seriesUid: i.seriesUid, sopInstanceUid: i.sopInstanceUid, retrieveUrl: r.stored.find((s) => s.sopInstanceUid === i.sopInstanceUid)?.retrieveUrl })),
  }
}

/**
 * `export --stow <base>`: store the DICOM files among an export's outputs (the SEG, and the new CT
 * series of --new-study) and return lines naming what the server now holds.
 */
export async function stowExported(base: string, outputs: string[]): Promise<string> {
  const dicom: string[] = []
  for (const f of outputs) {
    try {
      const head = await readFile(f).then((b) => b.subarray(128, 132).toString('latin1'))
      if (head === 'DICM') dicom.push(f)
    } catch {
      /* a folder or an unreadable output: not something to store */
    }
  }
  if (dicom.length === 0) throw new PacsError('stow-failed', resolveServer(base).baseUrl, undefined, 'the export wrote no DICOM file to store (use --format dicom-seg)')
  const r = await stowFiles(base, dicom)
  return r.stored.map((s) => `stored on ${r.server}: study ${s.studyUid} series ${s.seriesUid} instance ${s.sopInstanceUid}${s.retrieveUrl ? ` (${s.retrieveUrl})` : ''}`).join('\n')
}
