/**
 * What a batch is made of: the user's inputs (CT files, folders searched recursively, list files)
 * turned into cases, one per CT file and one per DICOM series, each with a stable nnU-Net case id
 * and a content hash. The hash (with the model version) is what resume compares: a case whose
 * bytes and model are unchanged is not run again, whatever its path or the order of the inputs.
 */
import { createHash } from 'node:crypto'
import { createReadStream, existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path'
import { readDicomHeader } from '../volumes/dicom.js'
import { isDicomFile } from '../volumes/dicom-file.js'

export interface BatchCase {
  /** nnU-Net case identifier: letters, digits, dash, underscore */
  id: string
  /** absolute path: a CT file, or the folder holding a DICOM series */
  input: string
  /** DICOM: the series this case is, when the folder may hold others */
  seriesUid?: string
  /** DICOM: the series' files (hashing needs them; the reader finds them again itself) */
  files?: string[]
}

export class BatchInputError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'BatchInputError'
  }
}

const VOLUME_FILE = /\.(nii|nii\.gz|nrrd|nhdr|mha|mhd)$/i
/** Never DICOM and never a CT: skipped without opening while searching folders. */
const NOT_DICOM = /\.(json|txt|csv|tsv|md|html?|xml|pdf|png|jpe?g|gif|bmp|tiff?|zip|gz|tar|raw|zraw|py|ts|js|log|seg\.nrrd|lst|list)$/i
const LIST_FILE = /\.(txt|list|lst)$/i
/** DICOM objects that are not images to segment (reports, segmentations, structure sets, ...). */
const NON_IMAGE = new Set(['SR', 'KO', 'PR', 'SEG', 'RTSTRUCT', 'RTPLAN', 'RTRECORD', 'RTDOSE', 'REG', 'DOC', 'AU'])

interface Found {
  volumes: string[]
  /** seriesUid -> files */
  dicom: Map<string, string[]>
  /** what was passed over and why (shown to the user, never silent) */
  notes: string[]
}

function walk(dir: string, found: Found): void {
  let entries
  try {
    entries = readdirSync(dir, { withFileTypes: true })
  } catch (e) {
    found.notes.push(`${dir}: cannot be listed (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); skipped`)
    return
  }
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (e.name.startsWith('.')) continue
    const p = join(dir, e.name)
    if (e.isDirectory()) walk(p, found)
    else if (e.isFile()) addFile(p, found, false)
  }
}

function addFile(file: string, found: Found, explicit: boolean): void {
  if (/\.seg\.nrrd$/i.test(file)) {
    if (explicit) found.volumes.push(file)
    else found.notes.push(`${file}: a segmentation, not a CT; skipped`)
    return
  }
  if (VOLUME_FILE.test(file)) {
    found.volumes.push(file)
    return
  }
  if (!explicit && NOT_DICOM.test(file)) return
  if (basename(file).toUpperCase() === 'DICOMDIR' || !isDicomFile(file)) {
    // an explicit file of unknown type becomes a case, so its failure is reported with the reason
    if (explicit) found.volumes.push(file)
    return
  }
  let h
  try {
    h = readDicomHeader(file)
  } catch (e) {
    found.notes.push(`${(e as Error).message}; skipped`)
    return
  }
  if (!h) return
  if (NON_IMAGE.has(h.modality) || !h.hasPixelData) {
    found.notes.push(`${file}: DICOM ${h.modality || 'object'} without an image to segment; skipped`)
    return
  }
  const list = found.dicom.get(h.seriesUid) ?? []
  list.push(file)
  found.dicom.set(h.seriesUid, list)
}

function readListFile(file: string): string[] {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (e) {
    throw new BatchInputError(`${file}: cannot read the list file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`)
  }
  const base = dirname(file)
  const out: string[] = []
  text.split(/\r?\n/).forEach((raw) => {
    const line = raw.trim()
    if (!line || line.startsWith('#')) return
    out.push(isAbsolute(line) ? line : resolve(base, line))
  })
  return out
}

function commonDir(files: string[]): string {
  let parts = dirname(files[0]).split(sep)
  for (const f of files.slice(1)) {
    const q = dirname(f).split(sep)
    let i = 0
    while (i < parts.length && i < q.length && parts[i] === q[i]) i++
    parts = parts.slice(0, i)
  }
  return parts.join(sep) || sep
}

function stem(file: string): string {
  return basename(file).replace(/(\.seg)?\.(nii\.gz|nii|nrrd|nhdr|mha|mhd|dcm)$/i, '')
}

function sanitize(name: string): string {
  const s = name.replace(/[^A-Za-z0-9_-]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 48)
  return s || 'case'
}

function shortHash(s: string): string {
  return createHash('sha1').update(s).digest('hex').slice(0, 6)
}

/**
 * Turns the user's inputs into cases. Files given by name always become cases (an unreadable one
 * fails with its reason); folders are searched recursively for NIfTI/NRRD/MetaImage files and DICOM
 * series; a .txt/.list file lists further inputs, one per line (# comments, relative to the list).
 */
export function discoverCases(inputs: string[]): { cases: BatchCase[]; notes: string[] } {
  const found: Found = { volumes: [], dicom: new Map(), notes: [] }
  const seenLists = new Set<string>()
  const visit = (raw: string, fromList: string | null) => {
    const p = resolve(raw)
    let st
    try {
      st = statSync(p)
    } catch {
      // a missing input is a failed case when it came from a list (the rest of the list still runs),
      // a usage error when typed on the command line
      if (fromList) {
        found.volumes.push(p)
        return
      }
      throw new BatchInputError(`${raw}: the file or folder does not exist or cannot be read`)
    }
    if (st.isDirectory()) walk(p, found)
    else if (LIST_FILE.test(p)) {
      if (seenLists.has(p)) throw new BatchInputError(`${p}: the list file includes itself`)
      seenLists.add(p)
      for (const q of readListFile(p)) visit(q, p)
    } else addFile(p, found, true)
  }
  for (const i of inputs) visit(i, null)

  const raw: { input: string; seriesUid?: string; files?: string[]; name: string }[] = []
  const seen = new Set<string>()
  for (const v of found.volumes) {
    if (seen.has(v)) continue
    seen.add(v)
    raw.push({ input: v, name: sanitize(stem(v)) })
  }
  // one case per series; series sharing a folder are told apart by their UID's tail
  const byFolder = new Map<string, number>()
  const series = [...found.dicom.entries()].map(([uid, files]) => ({ uid, files: files.sort(), folder: commonDir(files) }))
  for (const s of series) byFolder.set(s.folder, (byFolder.get(s.folder) ?? 0) + 1)
  for (const s of series.sort((a, b) => (a.folder + a.uid < b.folder + b.uid ? -1 : 1))) {
    const key = `${s.folder}\0${s.uid}`
    if (seen.has(key)) continue
    seen.add(key)
    const base = sanitize(basename(s.folder))
    const name = byFolder.get(s.folder)! > 1 ? `${base}_${sanitize(s.uid.split('.').slice(-2).join('_')).slice(-12)}` : base
    raw.push({ input: s.folder, seriesUid: s.uid, files: s.files, name })
  }
  // ids must be unique in the dataset; clashing names get a suffix from their input, which does
  // not depend on the order or on the other inputs
  const count = new Map<string, number>()
  for (const r of raw) count.set(r.name, (count.get(r.name) ?? 0) + 1)
  const cases = raw.map((r) => ({
    id: count.get(r.name)! > 1 ? `${r.name}_${shortHash(`${r.input}\0${r.seriesUid ?? ''}`)}` : r.name,
    input: r.input,
    ...(r.seriesUid ? { seriesUid: r.seriesUid, files: r.files } : {}),
  }))
  return { cases, notes: found.notes }
}

async function hashFileInto(h: ReturnType<typeof createHash>, file: string): Promise<void> {
  await new Promise<void>((res, rej) => {
    const s = createReadStream(file)
    s.on('data', (b) => h.update(b))
    s.on('end', () => res())
    s.on('error', rej)
  })
}

/** The data file a detached header (.mhd, .nhdr) points at, when it is a single local file. */
function detachedDataFile(header: string): string | null {
  try {
    const text = readFileSync(header, 'latin1').slice(0, 8192)
    const m = /^(?:ElementDataFile\s*=|data file:|datafile:)\s*(.+)$/im.exec(text)
    if (!m || /^LOCAL$/i.test(m[1].trim())) return null
    const f = resolve(dirname(header), m[1].trim())
    return existsSync(f) ? f : null
  } catch {
    return null
  }
}

/**
 * sha256 of what the case reads: the file (plus a detached header's data file), or every file of
 * the DICOM series by its path inside the series folder. Throws (with the path) when unreadable.
 */
export async function caseContentHash(c: BatchCase): Promise<string> {
  const h = createHash('sha256')
  if (c.files) {
    for (const f of c.files) {
      h.update(relative(c.input, f) + '\0')
      await hashFileInto(h, f)
    }
  } else {
    await hashFileInto(h, c.input)
    if (/\.(mhd|nhdr)$/i.test(c.input)) {
      const data = detachedDataFile(c.input)
      if (data) await hashFileInto(h, data)
    }
  }
  return h.digest('hex')
}
