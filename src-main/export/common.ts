/**
 * What every label export starts from, and the checks they share: the labels must lie on the CT's
 * exact grid (never resampled on export), and every file is accompanied by the label table and a
 * provenance record.
 */
import { existsSync, readdirSync, statSync } from 'node:fs'
import { basename } from 'node:path'
import { sameGrid } from '../../src-shared/geometry.js'
import type { CtVolume, LabelVolume } from '../../src-shared/volume.js'
import { VolumeError } from '../volumes/errors.js'
import type { CaseFile, LabelTable, ModelRef } from '../cases/schemas.js'
import { buildProvenance, type Provenance } from '../cases/provenance.js'
import { writeFileAtomic } from '../util/atomic-write.js'
import { inside, realish } from '../util/real-path.js'

export interface LabelExportInput {
  /** the CT the labels belong to (its grid is the export grid) */
  ct: CtVolume
  /** where the CT came from: a file, or a DICOM folder (needed for DICOM SEG) */
  ctPath: string
  labels: LabelVolume
  table: LabelTable
  /** the model prediction the labels started from, for edit statistics and algorithm type */
  prediction?: Uint8Array
  model?: ModelRef
  /** the workspace case, when exporting from a workspace (review, annotators, timestamps) */
  caseFile?: CaseFile
  annotators?: string[]
}

/**
 * 'exists': a target is already there and replacing it was not asked for (the app asks, then
 * retries with overwrite); 'source': a target is, or lies inside, a file or folder the user opened;
 * 'invalid': anything else about the input.
 */
export type ExportErrorCode = 'exists' | 'source' | 'invalid'

export class ExportError extends Error {
  readonly code: ExportErrorCode
  constructor(message: string, code: ExportErrorCode = 'invalid') {
    super(message)
    this.name = 'ExportError'
    this.code = code
  }
}

export interface TargetOptions {
  /** replace targets that exist (the user said so: --overwrite, or a confirm in the app) */
  overwrite?: boolean
  /** more opened sources no export may write over or into (other open volumes, the CLI's --prediction) */
  protect?: string[]
  /** files and folders SCN Studio keeps for itself (a workspace's cases), with what they are, for the message */
  managed?: { path: string; what: string }[]
}

/** The opened sources an export of `input` must leave alone: its CT (file or DICOM folder) and labels file. */
export function sourcesOf(input: Pick<LabelExportInput, 'ctPath' | 'labels'>): string[] {
  return [input.ctPath, ...(input.labels.meta.sourcePath ? [input.labels.meta.sourcePath] : [])]
}

function nonEmpty(path: string): boolean {
  try {
    return !statSync(path).isDirectory() || readdirSync(path).length > 0
  } catch {
    return false
  }
}

/** Longest file name (one path segment) ext4, APFS, NTFS and most others store. */
const MAX_NAME_BYTES = 255

/**
 * Refuses, before anything is written, an export whose targets (files, or folders it fills) would
 * replace or fill an opened source, or replace what exists without `overwrite`. An empty folder
 * is not "existing": a save dialog may just have created it.
 */
export function checkTargets(targets: string[], sources: string[], opts: TargetOptions = {}): void {
  // a name the file system cannot hold fails here, before the first of several files is written
  for (const t of targets) {
    const bytes = Buffer.byteLength(basename(t))
    if (bytes > MAX_NAME_BYTES) throw new ExportError(`${t}: the file name is ${bytes} bytes long, more than file systems allow (${MAX_NAME_BYTES}); nothing was written. Choose a shorter name`)
  }
  const real = [...sources, ...(opts.protect ?? [])].filter(Boolean).map((s) => ({ path: s, real: realish(s) }))
  for (const t of targets) {
    const rt = realish(t)
    for (const s of real) {
      if (rt === s.real) throw new ExportError(`${t}: this is the ${kindOf(s.real)} you opened; exporting there would replace it. Choose another file name`, 'source')
      if (inside(rt, s.real)) throw new ExportError(`${t}: this lies inside the ${kindOf(s.real)} you opened (${s.path}); exports never write into an opened source. Choose a folder outside it`, 'source')
      if (inside(s.real, rt)) throw new ExportError(`${t}: the ${kindOf(s.real)} you opened (${s.path}) lies inside this folder, which the export would replace. Choose another folder`, 'source')
    }
    for (const m of opts.managed ?? []) {
      const real = realish(m.path)
      if (inside(rt, real)) throw new ExportError(`${t}: this is or lies inside ${m.what} (${m.path}), which SCN Studio keeps; an export there would replace its files. Choose a folder outside it`, 'source')
      if (inside(real, rt)) throw new ExportError(`${t}: ${m.what} (${m.path}) lies inside this folder, which the export would replace. Choose another folder`, 'source')
    }
  }
  if (opts.overwrite) return
  const existing = targets.filter((t) => existsSync(t) && nonEmpty(t))
  if (existing.length) {
    throw new ExportError(
      `${existing.join(', ')} already exist${existing.length === 1 ? 's' : ''}; nothing was written. Choose another name, or replace ${existing.length === 1 ? 'it' : 'them'} explicitly (CLI: --overwrite; app: confirm replacing)`,
      'exists',
    )
  }
}

function kindOf(real: string): string {
  try {
    return statSync(real).isDirectory() ? 'folder' : 'file'
  } catch {
    return 'file'
  }
}

/** Throws when labels and CT are not the same grid; exports never resample. */
export function checkSameGrid(input: LabelExportInput): void {
  const { ct, labels } = input
  if (!sameGrid(ct, labels)) {
    throw new VolumeError(
      'dims-mismatch',
      labels.meta.sourcePath ?? 'labels',
      `the labels are not on the CT's grid (labels ${labels.dims.join('×')} at ${labels.spacing.map((s) => s.toFixed(3)).join('×')} mm, CT ${ct.dims.join('×')} at ${ct.spacing.map((s) => s.toFixed(3)).join('×')} mm, or origin/orientation differ); resample them onto ${input.ctPath} first`,
    )
  }
  if (input.prediction && input.prediction.length !== labels.data.length) throw new ExportError(`the prediction has ${input.prediction.length} voxels, the labels ${labels.data.length}`)
  const known = new Set(input.table.labels.map((l) => l.value))
  const seen = new Set<number>()
  for (let i = 0; i < labels.data.length; i++) if (labels.data[i] !== 0) seen.add(labels.data[i])
  const unknown = [...seen].filter((v) => !known.has(v)).sort((a, b) => a - b)
  if (unknown.length) throw new ExportError(`${labels.meta.sourcePath ?? 'the labels'}: value(s) ${unknown.join(', ')} are not in the label table (${input.table.labels.map((l) => `${l.value} ${l.name}`).join(', ')})`)
}

/** `dir/name.nii.gz` -> `dir/name` (the stem sidecars are named after). */
export function stemOf(file: string): string {
  return file.replace(/(\.seg)?\.(nii\.gz|nii|nrrd|dcm)$/i, '')
}

export function provenanceFor(input: LabelExportInput, format: string, files: string[]): Provenance {
  return buildProvenance({
    table: input.table,
    final: input.labels.data,
    prediction: input.prediction,
    model: input.model,
    caseFile: input.caseFile,
    annotators: input.annotators,
    ct: { path: input.ctPath, ...(input.ct.meta.seriesUid ? { seriesUid: input.ct.meta.seriesUid } : {}), dims: [...input.ct.dims], spacing: [...input.ct.spacing] },
    format,
    files,
  })
}

export async function writeJson(file: string, value: unknown): Promise<void> {
  await writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n')
}

/** Voxel count per value 0..255. */
export function histogram(data: Uint8Array): Float64Array {
  const h = new Float64Array(256)
  for (let i = 0; i < data.length; i++) h[data[i]]++
  return h
}
