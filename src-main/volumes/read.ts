/** One entry point for opening any volume the product supports, by path. */
import { statSync } from 'node:fs'
import { VolumeError, statInput } from './errors.js'
import { readNifti, writeNifti } from './nifti.js'
import { readMetaImage, readNrrd, writeNrrd } from './nrrd.js'
import { isDicomFile } from './dicom-file.js'
import { listDicomSeries, readDicomSeries, type DicomSeriesInfo } from './dicom.js'
import { column, dot, orientationCode, rasAffine } from '../../src-shared/geometry.js'
import { checkRegularFile, resolveInputPath } from './input.js'
import { PAD_HU, type CtVolume, type LabelVolume, type Volume, type VolumeFormat } from '../../src-shared/volume.js'

export type { VolumeFormat }

export function detectFormat(path: string): VolumeFormat {
  if (statInput(path, 'file or folder').isDirectory()) return 'dicom'
  const p = path.toLowerCase()
  if (p.endsWith('.nii') || p.endsWith('.nii.gz')) return 'nifti'
  if (p.endsWith('.nrrd') || p.endsWith('.nhdr')) return 'nrrd'
  if (p.endsWith('.mha') || p.endsWith('.mhd')) return 'metaimage'
  if (p.endsWith('.dcm')) return 'dicom'
  // DICOM files often have no extension (IM0001, an enhanced multi-frame file): their bytes say
  // (a FIFO, a device or an oversized file is refused here in words, before its bytes are read)
  checkRegularFile(path)
  if (isDicomFile(path)) return 'dicom'
  throw new VolumeError('unsupported', path, 'unknown file type: SCN Studio opens .nii, .nii.gz, .nrrd, .seg.nrrd, .mha, .mhd and DICOM folders')
}

export interface ReadOptions {
  /** DICOM: the series to read when a folder holds several */
  seriesUid?: string
  /** DICOM: a label map stored as an image series (any modality; a tilted stack keeps its label values) */
  labels?: boolean
}

/** The volume as stored in the file, nothing replaced: labels must see their values as they are. */
async function readStored(path: string, opts: ReadOptions = {}): Promise<Volume> {
  // Callers resolve at their boundary; resolving again here is free and keeps a relative path from
  // ever reaching itk-wasm, which mounts folders by name.
  path = resolveInputPath(path)
  const v = await readByFormat(path, opts)
  checkPlausibleGeometry(path, v)
  return v
}

async function readByFormat(path: string, opts: ReadOptions): Promise<Volume> {
  switch (detectFormat(path)) {
    case 'nifti':
      return readNifti(path)
    case 'nrrd':
      return readNrrd(path)
    case 'metaimage':
      return readMetaImage(path)
    case 'dicom':
      return readDicomSeries(path, { seriesUid: opts.seriesUid, labels: opts.labels })
  }
}

/** no body is longer than this: a volume that spans more has a spacing that is wrong */
const MAX_EXTENT_MM = 10_000

/**
 * What every reader's geometry must be, whatever the format let through: a finite origin, a
 * direction of perpendicular unit axes (a scaled or skewed one moves every label), and a size a
 * body can have (a spacing of 1e30 mm made the segmentation ask for a 7e60-voxel grid).
 */
function checkPlausibleGeometry(path: string, v: Volume): void {
  if (!v.origin.every(Number.isFinite)) {
    // itk-wasm hands a NaN over as null
    const shown = v.origin.map((x) => (typeof x === 'number' ? String(x) : 'NaN'))
    throw new VolumeError('bad-geometry', path, `the origin (${shown.join(', ')}) is not a finite position`)
  }
  const d = v.direction
  const cols = [0, 1, 2].map((j) => column(d, j))
  const unit = cols.every((c) => Math.abs(dot(c, c) - 1) <= 0.01)
  const perpendicular = [[0, 1], [0, 2], [1, 2]].every(([i, j]) => Math.abs(dot(cols[i], cols[j])) <= 0.01)
  if (!unit || !perpendicular) {
    throw new VolumeError('bad-geometry', path, `the orientation is unusable: the direction (${d.map((x) => +x.toFixed(4)).join(', ')}) is not three perpendicular unit axes`)
  }
  const axis = [0, 1, 2].find((i) => !(v.dims[i] * v.spacing[i] <= MAX_EXTENT_MM))
  if (axis !== undefined) {
    const extent = v.dims[axis] * v.spacing[axis]
    throw new VolumeError('bad-spacing', path, `the volume would span ${Number.isFinite(extent) ? `${(extent / 1000).toPrecision(3)} m` : 'an unbounded length'} along axis ${axis + 1} (${v.dims[axis]} voxels of ${v.spacing[axis]} mm): no scan of a body is longer than ${MAX_EXTENT_MM / 1000} m, so the voxel spacing in the header is wrong`)
  }
}

function addWarning(v: Volume, warning: string): void {
  v.meta.warnings = [...(v.meta.warnings ?? []), warning]
}

/**
 * NaN and ±Infinity voxels (float NIfTI/NRRD written by a faulty pipeline) poison every min/max,
 * normalisation and resampling downstream: one of them made the whole segmentation empty. We read
 * them as air (PAD_HU) and say so, naming the count and the first one, rather than refuse a scan
 * that is otherwise fine.
 */
function replaceNonFinite(v: Volume): void {
  const d = v.data
  if (!(d instanceof Float32Array || d instanceof Float64Array)) return
  let count = 0
  let first = -1
  for (let i = 0; i < d.length; i++) {
    if (!Number.isFinite(d[i])) {
      if (first < 0) first = i
      count++
      d[i] = PAD_HU
    }
  }
  if (count === 0) return
  const [nx, ny] = v.dims
  const ijk = [first % nx, Math.floor(first / nx) % ny, Math.floor(first / (nx * ny))]
  addWarning(v, `${v.meta.sourcePath ?? 'the volume'}: ${count} voxel(s) hold NaN or ±Infinity (the first at voxel [${ijk.join(', ')}]); they were read as ${PAD_HU} HU (air)`)
}

export async function readVolume(path: string, opts: ReadOptions = {}): Promise<Volume> {
  const v = await readStored(path, opts)
  replaceNonFinite(v)
  return v
}

/** A CT in HU: Int16Array when the values are integral, else Float32Array. */
export async function readCt(path: string, opts: ReadOptions = {}): Promise<CtVolume> {
  const v = await readVolume(path, opts)
  checkHounsfield(v)
  if (v.data instanceof Int16Array || v.data instanceof Float32Array) return v as CtVolume
  const data = new Int16Array(v.data.length)
  for (let i = 0; i < data.length; i++) data[i] = v.data[i]
  return { ...v, data }
}

/**
 * A CT in Hounsfield units has air (-1000) around or inside the body and fat below 0. Data that is
 * not HU (uint8 0..255 from a screenshot or a "normalised" export, raw scanner values 0..4095
 * without their rescale) would make the model see nonsense. We still read it, with a warning that
 * travels to the report. Values below -1100 are left out of the test: scanners fill the corners
 * outside the reconstruction circle with padding (-2000, -3024), and when the rescale intercept
 * is lost that padding is the only negative value in the data.
 */
const PADDING_BELOW_HU = -1100
const HU_HIST_MAX = 4000
function checkHounsfield(v: Volume): void {
  const d = v.data
  // a sample of up to ~2 M voxels is plenty for a percentile, and quick on 78 M
  const stride = Math.max(1, Math.floor(d.length / 2_000_000))
  const hist = new Uint32Array(HU_HIST_MAX - PADDING_BELOW_HU + 1)
  let counted = 0
  for (let i = 0; i < d.length; i += stride) {
    const x = d[i]
    if (!(x >= PADDING_BELOW_HU)) continue
    hist[Math.min(hist.length - 1, Math.floor(x - PADDING_BELOW_HU))]++
    counted++
  }
  if (counted === 0) return // nothing but padding: the segmentation says no organs were found
  // the lowest 1 % of the scanned values: air (~-1000) in nearly every CT, fat (~-100) in any abdomen
  let low = PADDING_BELOW_HU
  for (let b = 0, acc = 0, want = Math.ceil(counted * 0.01); b < hist.length; b++) {
    acc += hist[b]
    if (acc >= want) {
      low = PADDING_BELOW_HU + b
      break
    }
  }
  if (low <= -50) return
  let min = Infinity
  let max = -Infinity
  for (let i = 0; i < d.length; i++) {
    const x = d[i]
    if (x < min) min = x
    if (x > max) max = x
  }
  const why =
    d instanceof Uint8Array
      ? 'they are 8-bit values with no rescale'
      : min >= 0
        ? 'none is below 0 (air is -1000 HU, fat about -100 HU)'
        : `apart from padding below ${PADDING_BELOW_HU}, the lowest 1 % is at ${low}: no air (-1000 HU) or fat (about -100 HU), as when the rescale intercept was lost`
  addWarning(v, `${v.meta.sourcePath ?? 'the volume'}: the data does not look like Hounsfield units (values ${min} .. ${max}: ${why}); the segmentation is unlikely to be usable`)
}

/**
 * A CT as the app shows and edits it: integer HU (Int16Array; float HU from rescaled DICOM or float
 * NIfTI is rounded and clamped), with its range.
 */
export function int16Hu(v: Volume): { volume: Volume<Int16Array>; rounded: boolean; range: [number, number] } {
  const src = v.data
  let min = Infinity
  let max = -Infinity
  if (src instanceof Int16Array) {
    for (let i = 0; i < src.length; i++) {
      const x = src[i]
      if (x < min) min = x
      if (x > max) max = x
    }
    return { volume: v as Volume<Int16Array>, rounded: false, range: [min, max] }
  }
  const out = new Int16Array(src.length)
  for (let i = 0; i < src.length; i++) {
    const x = Math.max(-32768, Math.min(32767, Math.round(src[i])))
    out[i] = x
    if (x < min) min = x
    if (x > max) max = x
  }
  return { volume: { ...v, data: out }, rounded: true, range: [min, max] }
}

/** A labelmap: integer values 0..255 as Uint8Array. */
export async function readLabels(path: string): Promise<LabelVolume> {
  const v = await readStored(path, { labels: true })
  if (v.data instanceof Uint8Array) return v as LabelVolume
  const data = new Uint8Array(v.data.length)
  for (let i = 0; i < data.length; i++) {
    const x = v.data[i]
    if (x < 0 || x > 255 || x !== Math.round(x)) {
      throw new VolumeError('not-labels', path, `this is not a labelmap: voxel ${i} holds ${x} (labels are whole numbers 0 to 255)`)
    }
    data[i] = x
  }
  return { ...v, data }
}

export async function writeVolume(vol: Volume, path: string): Promise<void> {
  const p = path.toLowerCase()
  if (p.endsWith('.nii') || p.endsWith('.nii.gz')) return writeNifti(vol, path)
  if (p.endsWith('.nrrd')) return writeNrrd(vol, path)
  throw new Error(`${path}: cannot write this file type (use .nii.gz or .nrrd)`)
}

export interface VolumeInfo {
  path: string
  format: VolumeFormat
  dims: number[]
  spacing: number[]
  origin: number[]
  direction: number[]
  orientation: string
  /** 4x4 row-major RAS affine, as nibabel reports it */
  affineRas: number[]
  range: [number, number]
  dataType: string
  modality?: string
  seriesUid?: string
  series?: DicomSeriesInfo[]
  /** what the reader noticed (NaN voxels replaced, a tilted stack resampled) */
  warnings?: string[]
}

export async function describeVolume(path: string, opts: ReadOptions = {}): Promise<VolumeInfo> {
  path = resolveInputPath(path)
  const format = detectFormat(path)
  const series = format === 'dicom' && statSync(path).isDirectory() ? listDicomSeries(path) : undefined
  const v = await readVolume(path, opts)
  let min = Infinity
  let max = -Infinity
  for (let i = 0; i < v.data.length; i++) {
    const x = v.data[i]
    if (x < min) min = x
    if (x > max) max = x
  }
  return {
    path,
    format,
    dims: v.dims,
    spacing: v.spacing,
    origin: v.origin,
    direction: v.direction,
    orientation: orientationCode(v.direction),
    affineRas: rasAffine(v),
    range: [min, max],
    dataType: v.data.constructor.name.replace('Array', '').toLowerCase(),
    modality: v.meta.modality,
    seriesUid: v.meta.seriesUid,
    series,
    warnings: v.meta.warnings,
  }
}
