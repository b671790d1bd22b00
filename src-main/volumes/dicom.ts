/**
 * DICOM series from a folder. Headers are parsed with dcmjs (fast: stops before pixel data) so we
 * can list series, check modality, ordering, gaps and duplicates ourselves and explain problems;
 * pixels are decoded by itk-wasm (GDCM), which handles the compressed transfer syntaxes.
 */
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, dirname, join, relative } from 'node:path'
import dcmjs from 'dcmjs'
import { VolumeError, checkSize, statInput } from './errors.js'
import { cross, dot, norm } from '../../src-shared/geometry.js'
import { readRegularFile, realInputPath } from './input.js'
import { itkErrorText, volumeFromItkImage } from './itk.js'
import { DicomStructureError, dicomPart10, parseDicomPart10 } from './dicom-file.js'
import { PAD_HU, type Mat3, type Vec3, type Volume } from '../../src-shared/volume.js'

export interface DicomSlice {
  file: string
  seriesUid: string
  sopInstanceUid: string
  modality: string
  description: string
  rows: number
  columns: number
  position?: Vec3
  orientation?: number[]
  pixelSpacing?: [number, number]
  hasPixelData: boolean
  transferSyntax: string
  /** false for a bare data set or a file without its preamble, which GDCM gets as a Part 10 copy */
  part10: boolean
  studyUid: string
  frameOfReferenceUid?: string
  numberOfFrames: number
  /**
   * How the slice's stored values become HU and how they are stored: Rescale Slope / Intercept,
   * Pixel Representation, Bits Allocated / Stored, as one key. A series reader applies one file's
   * to the whole stack, so slices that differ are read one by one (readDicomSeries).
   */
  pixelMapping: string
  /** Slice Thickness (0018,0050): the z spacing of a single slice, which has no neighbour to measure */
  sliceThickness?: number
  /** Spacing Between Slices (0018,0088): the frame spacing of a legacy multi-frame file, whose frames carry no positions */
  spacingBetweenSlices?: number
  /**
   * An enhanced multi-frame image (one file, every slice a frame): each frame's position and pixel
   * mapping, from its functional groups, in file order. Orientation and spacing are the shared ones.
   */
  frames?: { position?: Vec3; pixelMapping: string; plane: number[] }[]
  /** for a frame of an enhanced file: its index in the file */
  frameIndex?: number
}

export interface DicomSeriesInfo {
  seriesUid: string
  description: string
  modality: string
  sliceCount: number
  rows: number
  columns: number
  studyUid: string
}

function listFiles(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) listFiles(p, out)
    else if (e.name.toUpperCase() === 'DICOMDIR') continue
    else if (e.isFile() || (e.isSymbolicLink() && isRegularTarget(p))) out.push(p)
    // FIFOs, sockets, devices and links to them are never opened: reading one can block forever.
  }
  return out.sort()
}

/** A symlink is followed when it points at a regular file (folders of links to DICOM files are common). */
function isRegularTarget(link: string): boolean {
  try {
    return statSync(link).isFile()
  } catch {
    return false
  }
}

const NON_IMAGE_MODALITIES = new Set(['SR', 'KO', 'PR', 'RTSTRUCT', 'RTPLAN', 'RTRECORD', 'REG', 'DOC', 'AU'])

function num(v: unknown): number | undefined {
  const n = Array.isArray(v) ? Number(v[0]) : Number(v)
  return Number.isFinite(n) ? n : undefined
}

/** Parse one file's header; null when it is not DICOM. */
export function readDicomHeader(file: string): DicomSlice | null {
  const buf = readRegularFile(file)
  const part10 = dicomPart10(buf)
  if (!part10) return null
  let parsed
  try {
    parsed = parseDicomPart10(part10.bytes, true)
  } catch (e) {
    // a file only guessed to be a bare data set (no "DICM") that does not parse is some other file
    if (part10.kind !== 'part10') return null
    if (e instanceof DicomStructureError) throw new VolumeError('truncated', file, e.inPixelData ? e.message : `the DICOM header is damaged or cut short: ${e.message}`)
    throw new VolumeError('bad-format', file, `the DICOM header is damaged (${(e as Error).message})`)
  }
  // ...and one that parses into no DICOM object (no SOP Class) is not DICOM either
  if (part10.kind !== 'part10' && !('00080016' in parsed.dict)) return null
  const n = dcmjs.data.DicomMetaDictionary.naturalizeDataset(parsed.dict) as Record<string, unknown>
  // Enhanced CT keeps geometry and rescale in functional groups: shared by all frames, or per frame
  const shared = first(n.SharedFunctionalGroupsSequence)
  const perFrame = items(n.PerFrameFunctionalGroupsSequence)
  const group = (name: string, attr: string, frame?: Record<string, unknown>) => first(frame?.[name])?.[attr] ?? first(shared?.[name])?.[attr]
  // a single-frame Enhanced CT has its position in its one per-frame group
  const pos = (n.ImagePositionPatient ?? group('PlanePositionSequence', 'ImagePositionPatient', perFrame?.[0])) as number[] | undefined
  const iop = (n.ImageOrientationPatient ?? group('PlaneOrientationSequence', 'ImageOrientationPatient', perFrame?.[0])) as number[] | undefined
  const ps = (n.PixelSpacing ?? group('PixelMeasuresSequence', 'PixelSpacing', perFrame?.[0])) as number[] | undefined
  const mapping = (frame?: Record<string, unknown>) =>
    [
      num(group('PixelValueTransformationSequence', 'RescaleSlope', frame) ?? n.RescaleSlope) ?? 1,
      num(group('PixelValueTransformationSequence', 'RescaleIntercept', frame) ?? n.RescaleIntercept) ?? 0,
      num(n.PixelRepresentation) ?? 0,
      num(n.BitsAllocated) ?? 0,
      num(n.BitsStored) ?? 0,
    ].join('/')
  const frames = perFrame && perFrame.length > 1
    ? perFrame.map((f) => {
        const p = group('PlanePositionSequence', 'ImagePositionPatient', f) as number[] | undefined
        const o = group('PlaneOrientationSequence', 'ImageOrientationPatient', f) as number[] | undefined
        const m = group('PixelMeasuresSequence', 'PixelSpacing', f) as number[] | undefined
        return {
          position: p && p.length === 3 ? (p.map(Number) as Vec3) : undefined,
          pixelMapping: mapping(f),
          // every frame is placed with frame 1's orientation and spacing: compared in checkFramePlanes
          plane: [...(o ?? []), ...(m ?? [])].map(Number),
        }
      })
    : undefined
  const ts = (parsed.meta['00020010']?.Value?.[0] as string | undefined) ?? ''
  const hasPixelData = '7FE00010' in parsed.dict
  // The parser stops quietly at end of file; an image object without Rows and without pixel data
  // is a file cut short, not a non-image object (those have their own modalities).
  if (!hasPixelData && num(n.Rows) === undefined && !NON_IMAGE_MODALITIES.has(String(n.Modality ?? ''))) {
    throw new VolumeError('truncated', file, 'the DICOM file ends before its image attributes and pixel data: it is incomplete')
  }
  return {
    file,
    seriesUid: String(n.SeriesInstanceUID ?? ''),
    sopInstanceUid: String(n.SOPInstanceUID ?? ''),
    studyUid: String(n.StudyInstanceUID ?? ''),
    frameOfReferenceUid: n.FrameOfReferenceUID ? String(n.FrameOfReferenceUID) : undefined,
    modality: String(n.Modality ?? ''),
    description: String(n.SeriesDescription ?? ''),
    rows: num(n.Rows) ?? 0,
    columns: num(n.Columns) ?? 0,
    position: pos && pos.length === 3 ? (pos.map(Number) as Vec3) : undefined,
    orientation: iop && iop.length === 6 ? iop.map(Number) : undefined,
    pixelSpacing: ps && ps.length === 2 ? [Number(ps[0]), Number(ps[1])] : undefined,
    hasPixelData,
    transferSyntax: ts,
    part10: part10.kind === 'part10',
    numberOfFrames: num(n.NumberOfFrames) ?? 1,
    pixelMapping: mapping(perFrame?.[0]),
    sliceThickness: num(n.SliceThickness ?? group('PixelMeasuresSequence', 'SliceThickness', perFrame?.[0])),
    spacingBetweenSlices: num(n.SpacingBetweenSlices),
    ...(frames ? { frames } : {}),
  }
}

/** The items of a naturalized sequence (dcmjs gives an array, or the item itself for one). */
function items(v: unknown): Record<string, unknown>[] | undefined {
  if (Array.isArray(v)) return v as Record<string, unknown>[]
  return v && typeof v === 'object' ? [v as Record<string, unknown>] : undefined
}

/** The first item of a naturalized sequence (dcmjs gives an array, or the item itself for one). */
function first(v: unknown): Record<string, unknown> | undefined {
  const x = items(v)?.[0]
  return x && typeof x === 'object' ? x : undefined
}

function scanFolder(folder: string): { slices: DicomSlice[]; skipped: number } {
  // a DICOMDIR is an index of the files beside and below it, not an image. Say so rather than read
  // its folder here: the folder is what the user must open (and what exports then stay out of)
  if (basename(folder).toUpperCase() === 'DICOMDIR' && !statInput(folder, 'file').isDirectory()) {
    throw new VolumeError('unsupported', folder, `this is a DICOMDIR, an index of a DICOM disc or folder, not an image: open the folder that holds it (${dirname(folder)})`)
  }
  const files = statInput(folder, 'folder').isDirectory() ? listFiles(folder) : [folder]
  const slices: DicomSlice[] = []
  let skipped = 0
  for (const f of files) {
    const h = readDicomHeader(f)
    if (h) slices.push(h)
    else skipped++
  }
  if (slices.length === 0) throw new VolumeError('no-dicom', folder, `no DICOM files found (${files.length} other files looked at)`)
  return { slices, skipped }
}

function summarise(slices: DicomSlice[]): DicomSeriesInfo[] {
  const by = new Map<string, DicomSlice[]>()
  for (const s of slices) by.set(s.seriesUid, [...(by.get(s.seriesUid) ?? []), s])
  return [...by.entries()].map(([uid, ss]) => ({
    seriesUid: uid,
    description: ss[0].description,
    modality: ss[0].modality,
    sliceCount: ss.length,
    rows: ss[0].rows,
    columns: ss[0].columns,
    studyUid: ss[0].studyUid,
  }))
}

export function listDicomSeries(folder: string): DicomSeriesInfo[] {
  return summarise(scanFolder(folder).slices)
}

export interface ReadDicomOptions {
  seriesUid?: string
  /** modalities accepted; default CT only, because the SCN is a CT model */
  modalities?: string[]
  /**
   * the series is a label map stored as images (AMOS' masks, a reference segmentation): any
   * modality, and a tilted stack is resampled nearest-neighbour so its values stay labels
   */
  labels?: boolean
}

export interface OrderedSlices {
  ordered: DicomSlice[]
  normal: Vec3
  spacing: number
  /**
   * For each ordered slice, how far (mm, LPS) its position lies off the line through the first
   * slice along the normal: non-zero for gantry-tilted stacks (positions step along the table,
   * not along the normal) and for stacks whose positions drift sideways. Always in the slice plane.
   */
  offsets: Vec3[]
}

/** Sort a series along its slice normal and check it is one regular, complete stack. */
export function orderSlices(folder: string, slices: DicomSlice[]): OrderedSlices {
  const first = slices[0]
  for (const s of slices) {
    if (!s.position || !s.orientation) throw new VolumeError('bad-geometry', s.file, 'the slice has no Image Position/Orientation (Patient); it cannot be placed in a volume')
    if (s.orientation.some((v, i) => Math.abs(v - first.orientation![i]) > 1e-4)) {
      throw new VolumeError('bad-geometry', folder, `slices have different orientations (${relative(folder, first.file) || first.file} vs ${relative(folder, s.file) || s.file}); this is not one volume`)
    }
    if (s.rows !== first.rows || s.columns !== first.columns) {
      throw new VolumeError('bad-geometry', folder, `slices have different sizes (${first.columns}×${first.rows} and ${s.columns}×${s.rows})`)
    }
  }
  const o = first.orientation!
  const rowDir: Vec3 = [o[0], o[1], o[2]]
  const colDir: Vec3 = [o[3], o[4], o[5]]
  if (Math.abs(dot(rowDir, rowDir) - 1) > 1e-3 || Math.abs(dot(colDir, colDir) - 1) > 1e-3 || Math.abs(dot(rowDir, colDir)) > 1e-3) {
    throw new VolumeError('bad-geometry', first.file, `Image Orientation (Patient) is not two perpendicular unit vectors (${o.join(', ')})`)
  }
  const normal = cross(rowDir, colDir)
  const withD = slices.map((s) => ({ s, d: dot(s.position!, normal) })).sort((a, b) => a.d - b.d)
  for (let i = 1; i < withD.length; i++) {
    if (Math.abs(withD[i].d - withD[i - 1].d) < 1e-3) {
      throw new VolumeError(
        'duplicate-slice',
        folder,
        `two slices sit at the same position (${withD[i].d.toFixed(2)} mm along the normal): ${relative(folder, withD[i - 1].s.file)} and ${relative(folder, withD[i].s.file)}. Remove the duplicate or choose one series`,
      )
    }
  }
  let spacing = 1
  if (withD.length > 1) {
    // One regular stack: every slice within 2 % of a spacing (at least 0.02 mm) of the evenly spaced
    // grid from the first slice to the last. Positions are stored in decimal and often rounded to
    // 0.01 mm, so gaps of 0.66 and 0.67 mm in a 0.667 mm stack are one grid, and its spacing is the
    // fitted one (a rounded gap, repeated over 300 slices, would misplace the last by a millimetre).
    const n = withD.length
    const fitted = (withD[n - 1].d - withD[0].d) / (n - 1)
    const worst = Math.max(...withD.map((w, k) => Math.abs(w.d - withD[0].d - k * fitted)))
    if (worst > Math.max(0.02 * fitted, 0.02)) {
      const gaps = withD.slice(1).map((w, i) => w.d - withD[i].d)
      const sorted = [...gaps].sort((a, b) => a - b)
      const median = sorted[Math.floor(sorted.length / 2)]
      const odd = gaps.reduce((at, g, i) => (Math.abs(g - median) > Math.abs(gaps[at] - median) ? i : at), 0)
      const g = gaps[odd]
      const name = (s: DicomSlice) => (relative(folder, s.file) || s.file) + (s.frameIndex !== undefined ? ` frame ${s.frameIndex + 1}` : '')
      const between = `between ${name(withD[odd].s)} and ${name(withD[odd + 1].s)} (${withD[odd].d.toFixed(2)} and ${withD[odd + 1].d.toFixed(2)} mm along the slice normal)`
      const ratio = g / median
      if (Math.abs(ratio - Math.round(ratio)) < 0.05 && Math.round(ratio) >= 2) {
        throw new VolumeError('missing-slice', folder, `${Math.round(ratio) - 1} slice(s) missing ${between}: gap ${g.toFixed(2)} mm, usual spacing ${median.toFixed(2)} mm`)
      }
      throw new VolumeError('uneven-spacing', folder, `the slice spacing is not uniform: gap of ${g.toFixed(2)} mm ${between}, usual spacing ${median.toFixed(2)} mm`)
    }
    spacing = fitted
  }
  const p0 = withD[0].s.position!
  const offsets = withD.map(({ s, d }) => [0, 1, 2].map((i) => s.position![i] - p0[i] - (d - withD[0].d) * normal[i]) as Vec3)
  return { ordered: withD.map((w) => w.s), normal, spacing, offsets }
}

/** Pixel Spacing must be two positive numbers, the same on every slice of the stack. */
function checkPixelSpacing(folder: string, slices: DicomSlice[]): void {
  const first = slices[0].pixelSpacing
  for (const s of slices) {
    const ps = s.pixelSpacing
    if (!ps) continue
    if (!ps.every((v) => Number.isFinite(v) && v > 0)) {
      throw new VolumeError('bad-spacing', s.file, `Pixel Spacing (0028,0030) is ${ps.join('\\')}: both values must be positive numbers of mm`)
    }
    if (first && ps.some((v, i) => Math.abs(v - first[i]) > 1e-4)) {
      throw new VolumeError('bad-geometry', folder, `slices have different Pixel Spacing (${first.join('\\')} in ${relative(folder, slices[0].file) || slices[0].file}, ${ps.join('\\')} in ${relative(folder, s.file) || s.file}); this is not one volume`)
    }
  }
}

/**
 * Gantry tilt / sideways drift: every slice is a plane perpendicular to `normal`, but slice k sits
 * `offsets[k]` (in-plane) away from where an orthogonal grid would put it. Shift each slice back
 * in-plane (bilinear, as dcm2niix corrects gantry tilt), on a grid widened to keep every acquired
 * pixel. Slice k's pixel (i, j) is at p0 + d_k n + offsets[k] + i dx row + j dy col; output voxel
 * (i', j', k) is at origin + i' dx row + j' dy col + d_k n with origin = p0 + imin dx row + jmin dy col.
 * A label series (`labels`) takes the nearest pixel instead and 0 where no slice data: interpolating
 * would invent values between two labels (1 and 3 blend to 2) and pad with a number that is no label.
 */
function resampleSheared(vol: Volume, offsets: Vec3[], row: Vec3, col: Vec3, labels = false): { shifted: number } {
  const [nx, ny, nz] = vol.dims
  const [dx, dy] = vol.spacing
  const a = offsets.map((r) => dot(r, row) / dx)
  const b = offsets.map((r) => dot(r, col) / dy)
  const eps = 1e-3
  const imin = Math.floor(Math.min(0, ...a) + eps)
  const jmin = Math.floor(Math.min(0, ...b) + eps)
  const imax = Math.ceil(nx - 1 + Math.max(0, ...a) - eps)
  const jmax = Math.ceil(ny - 1 + Math.max(0, ...b) - eps)
  const mx = imax - imin + 1
  const my = jmax - jmin + 1
  checkSize(vol.meta.sourcePath ?? '', [mx, my, nz], 2)
  const src = vol.data
  const out = new Int16Array(mx * my * nz)
  for (let k = 0; k < nz; k++) {
    const base = k * nx * ny
    for (let jo = 0; jo < my; jo++) {
      const y = jmin + jo - b[k]
      const j0 = Math.floor(y)
      const fy = y - j0
      for (let io = 0; io < mx; io++) {
        const x = imin + io - a[k]
        if (labels) {
          const ii = Math.round(x)
          const jj = Math.round(y)
          out[k * mx * my + jo * mx + io] = ii >= 0 && ii < nx && jj >= 0 && jj < ny ? src[base + jj * nx + ii] : 0
          continue
        }
        const i0 = Math.floor(x)
        const fx = x - i0
        let v = 0
        let w = 0
        // bilinear over the (up to) four neighbours that exist; outside the slice: padding
        for (let dj = 0; dj < 2; dj++) {
          const jj = j0 + dj
          const wy = dj ? fy : 1 - fy
          if (wy < 1e-6 || jj < 0 || jj >= ny) continue
          for (let di = 0; di < 2; di++) {
            const ii = i0 + di
            const wx = di ? fx : 1 - fx
            if (wx < 1e-6 || ii < 0 || ii >= nx) continue
            v += wx * wy * src[base + jj * nx + ii]
            w += wx * wy
          }
        }
        out[k * mx * my + jo * mx + io] = w > 1 - 1e-3 ? Math.round(v / w) : PAD_HU
      }
    }
  }
  const o = vol.origin
  vol.origin = [0, 1, 2].map((i) => o[i] + imin * dx * row[i] + jmin * dy * col[i]) as Vec3
  vol.dims = [mx, my, nz]
  vol.data = out
  return { shifted: Math.max(...offsets.map(norm)) }
}

export async function readDicomSeries(folder: string, opts: ReadDicomOptions = {}): Promise<Volume> {
  const { slices } = scanFolder(folder)
  const series = summarise(slices)
  let uid = opts.seriesUid
  if (!uid) {
    const imageSeries = series.filter((s) => slices.some((x) => x.seriesUid === s.seriesUid && x.hasPixelData && x.modality !== 'SEG' && x.modality !== 'RTSTRUCT' && x.modality !== 'SR'))
    if (series.length > 1 && imageSeries.length !== 1) {
      const list = series.map((s) => `${s.seriesUid} (${s.modality}, ${s.sliceCount} files${s.description ? `, "${s.description}"` : ''})`).join('; ')
      throw new VolumeError('multiple-series', folder, `the folder holds ${series.length} series; choose one: ${list}`)
    }
    uid = (imageSeries[0] ?? series[0]).seriesUid
  }
  const mine = slices.filter((s) => s.seriesUid === uid)
  if (mine.length === 0) throw new VolumeError('unknown-series', folder, `no series with UID ${uid} in this folder`)
  const modalities = opts.modalities ?? ['CT']
  if (!opts.labels && !modalities.includes(mine[0].modality)) {
    throw new VolumeError('wrong-modality', folder, `the series is ${mine[0].modality || 'of unknown modality'}, not ${modalities.join('/')}: SCN Studio segments CT scans`)
  }
  const noPixels = mine.find((s) => !s.hasPixelData)
  if (noPixels) throw new VolumeError('no-pixel-data', noPixels.file, 'the DICOM file has no pixel data (is it a report or a presentation state?)')
  if (mine.some((s) => s.numberOfFrames > 1) && mine.length > 1) {
    throw new VolumeError('unsupported', folder, 'the series mixes multi-frame files; open one enhanced multi-frame file at a time')
  }
  const enhanced = mine.length === 1 && mine[0].frames ? mine[0] : undefined
  const stack = sliceStack(mine)
  if (enhanced && new Set(stack.map((s) => s.pixelMapping)).size > 1) {
    throw new VolumeError('unsupported', enhanced.file, 'the frames of this enhanced multi-frame image are rescaled each their own way (per-frame Rescale Slope/Intercept), which SCN Studio does not read yet: convert it to one file per slice (for example with dcm2niix, then open the NIfTI)')
  }
  if (enhanced) checkFramePlanes(enhanced)
  checkSize(folder, [mine[0].columns, mine[0].rows, stack.length], 2)
  checkPixelSpacing(folder, mine)
  const { ordered, spacing, offsets } = orderSlices(folder, stack)

  // loaded here, not at startup: itk-wasm (and its zstd decoder) only when a series needs it
  const { readImageDicomFileSeriesNode } = await import('@itk-wasm/dicom')
  // itk-wasm mounts the folder of each file it reads (WASI): give it real absolute paths, so
  // relative paths and links into other folders work.
  const decodeAsIs = async (files: DicomSlice[]) => {
    let copies: ReturnType<typeof part10Copies> = null
    try {
      copies = part10Copies(files)
      const inputImages = files.map((s, i) => copies?.files[i] ?? realInputPath(s.file))
      return volumeFromItkImage(folder, (await readImageDicomFileSeriesNode({ inputImages, singleSortedSeries: true })).outputImage)
    } finally {
      copies?.remove()
    }
  }
  const decodes = (files: DicomSlice[]) => decodeAsIs(files).then(() => true, (e) => (e instanceof VolumeError ? Promise.reject(e) : false))
  // GDCM names the series that failed, not the file: halve the stack until one file fails alone,
  // so the user knows what to replace (about 2·log2(n) decodes, on this failure path only)
  const undecodable = async (files: DicomSlice[]): Promise<DicomSlice | undefined> => {
    if (files.length === 1) return files[0]
    const half = Math.ceil(files.length / 2)
    for (const part of [files.slice(0, half), files.slice(half)]) if (!(await decodes(part))) return undecodable(part)
    return undefined // only the whole fails: no one file to name
  }
  const decode = async (files: DicomSlice[]) => {
    try {
      return await decodeAsIs(files)
    } catch (e) {
      if (e instanceof VolumeError) throw e
      const culprit = await undecodable(files)
      throw new VolumeError('bad-format', culprit?.file ?? folder, `the pixel data could not be decoded (${itkErrorText(e)}); transfer syntax ${(culprit ?? files[0]).transferSyntax}`)
    }
  }
  // GDCM's series reader maps every slice with one file's rescale and pixel format: where the
  // slices differ (scanners rescale slice by slice; edited series mix signed and unsigned) every
  // other slice would be off by the difference, 1000 HU or more, silently. Those are read one by one.
  const mixed = new Set(ordered.map((s) => s.pixelMapping)).size > 1
  const vol = enhanced ? framesInOrder(await decode([enhanced]), ordered) : mixed ? stackSlices(await mapSequential(ordered, (s) => decode([s]))) : await decode(ordered)
  // The stack order, z spacing and origin are ours (checked above); take in-plane from the first slice.
  const o = ordered[0].orientation!
  const normal = cross([o[0], o[1], o[2]], [o[3], o[4], o[5]])
  const direction: Mat3 = [o[0], o[3], normal[0], o[1], o[4], normal[1], o[2], o[5], normal[2]]
  const ps = ordered[0].pixelSpacing ?? [vol.spacing[1], vol.spacing[0]]
  vol.direction = direction
  vol.origin = [...ordered[0].position!] as Vec3
  const single = ordered[0].sliceThickness
  // one slice has no neighbour: its Slice Thickness is its depth; a legacy multi-frame file (one
  // file, frames without functional groups) is spaced by its Spacing Between Slices, as dcm2niix
  // reads it (GDCM reads that for a CT but gives a Secondary Capture 1 mm), else by the decoder
  const oneSlice = ordered.length === 1 && vol.dims[2] === 1
  const between = ordered[0].spacingBetweenSlices
  const legacyFrames = between !== undefined && between > 0 ? between : vol.spacing[2]
  vol.spacing = [ps[1], ps[0], ordered.length > 1 ? spacing : oneSlice ? (single !== undefined && single > 0 ? single : vol.spacing[2]) : legacyFrames]
  const n = vol.data.length
  const ct = new Int16Array(n)
  const src = vol.data
  for (let i = 0; i < n; i++) {
    const v = Math.round(src[i])
    ct[i] = v < -32768 ? -32768 : v > 32767 ? 32767 : v
  }
  vol.data = ct
  vol.meta = { sourcePath: folder, modality: mine[0].modality, seriesUid: uid, description: mine[0].description }

  // Never place a tilted or drifting stack on the orthogonal grid silently: resample it.
  const shear = Math.max(...offsets.map(norm))
  if (ordered.length > 1 && shear > Math.max(0.01, 0.01 * Math.min(vol.spacing[0], vol.spacing[1]))) {
    const step = [0, 1, 2].map((i) => ordered[ordered.length - 1].position![i] - ordered[0].position![i]) as Vec3
    const tilt = (Math.acos(Math.min(1, Math.abs(dot(step, normal)) / norm(step))) * 180) / Math.PI
    const { shifted } = resampleSheared(vol, offsets, [o[0], o[1], o[2]], [o[3], o[4], o[5]], opts.labels)
    vol.meta.warnings = [
      `${folder}: the slice positions step ${tilt.toFixed(1)}° off the slice normal (gantry tilt or sideways drift; up to ${shifted.toFixed(2)} mm by the last slice): ` +
        `each slice was shifted in-plane onto an orthogonal grid (${vol.dims.join('×')}, ${opts.labels ? 'nearest pixel, label 0' : `linear interpolation, ${PAD_HU} HU`} where no slice data), as dcm2niix corrects gantry tilt`,
    ]
  }
  return vol
}

async function mapSequential<T, R>(items: T[], f: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = []
  for (const x of items) out.push(await f(x))
  return out
}

/**
 * GDCM's series reader takes Part 10 files only: where some of `files` are bare data sets (or lack
 * the preamble), Part 10 copies of those go to a private temporary folder for the decode. Null when
 * every file is Part 10 already (the usual case: nothing is copied).
 */
function part10Copies(files: DicomSlice[]): { files: (string | undefined)[]; remove: () => void } | null {
  if (files.every((s) => s.part10)) return null
  let dir: string | undefined
  const remove = () => dir && rmSync(dir, { recursive: true, force: true })
  try {
    dir = mkdtempSync(join(tmpdir(), 'scn-dicom-'))
    const out = files.map((s, i) => {
      if (s.part10) return undefined
      const copy = join(dir!, `${String(i).padStart(6, '0')}.dcm`)
      writeFileSync(copy, dicomPart10(readRegularFile(s.file))!.bytes, { mode: 0o600 })
      return copy
    })
    return { files: out, remove }
  } catch (e) {
    remove() // a full temp disk leaves nothing behind
    if (e instanceof VolumeError) throw e
    throw new VolumeError('bad-format', files[0].file, `a Part 10 copy of this bare DICOM data set could not be written to the temporary folder ${tmpdir()} (${(e as Error).message})`)
  }
}

/** An enhanced file's frames (decoded in file order) put in the order of `ordered` (along the normal). */
function framesInOrder(vol: Volume, ordered: DicomSlice[]): Volume {
  const [w, h, nf] = vol.dims
  if (nf !== ordered.length) throw new VolumeError('dims-mismatch', ordered[0].file, `the file declares ${ordered.length} frames but ${nf} were decoded`)
  const data = new Float32Array(w * h * nf)
  ordered.forEach((s, k) => data.set(vol.data.subarray(s.frameIndex! * w * h, (s.frameIndex! + 1) * w * h), k * w * h))
  return { ...vol, data }
}

/** Single-slice volumes of one size, stacked in order along k (the geometry is set by the caller). */
function stackSlices(slices: Volume[]): Volume {
  const [w, h] = slices[0].dims
  const data = new Float32Array(w * h * slices.length)
  slices.forEach((s, k) => data.set(s.data, k * w * h))
  return { ...slices[0], dims: [w, h, slices.length], data }
}

/**
 * The slices of one series, in the order readDicomSeries stacks them: one per file, or, for an
 * enhanced multi-frame file, one per frame (with its frameIndex; a SEG references those by frame).
 */
export function dicomSliceFiles(folder: string, seriesUid?: string): DicomSlice[] {
  const { slices } = scanFolder(folder)
  const uid = seriesUid ?? slices[0].seriesUid
  return orderSlices(folder, sliceStack(slices.filter((s) => s.seriesUid === uid))).ordered
}

/**
 * An enhanced file's frames are placed on one grid, with frame 1's orientation and pixel spacing:
 * a frame that differs by more than the tolerance slices of a series get (1e-4) is refused by number.
 */
function checkFramePlanes(file: DicomSlice): void {
  const [f0, ...rest] = file.frames!
  const at = rest.findIndex((f) => f.plane.length !== f0.plane.length || f.plane.some((v, i) => !(Math.abs(v - f0.plane[i]) <= 1e-4)))
  if (at < 0) return
  const show = (p: number[]) => p.map((v) => +v.toFixed(6)).join('\\')
  throw new VolumeError(
    'unsupported',
    file.file,
    `frame ${at + 2} of this enhanced multi-frame image differs from frame 1 in orientation or pixel spacing (per-frame Plane Orientation / Pixel Measures: ${show(rest[at].plane)} vs ${show(f0.plane)}), which one grid cannot hold: convert it to one file per slice (for example with dcm2niix, then open the NIfTI)`,
  )
}

/** An enhanced multi-frame file's frames as the slices (placed by their functional groups); other series as they are. */
function sliceStack(files: DicomSlice[]): DicomSlice[] {
  const enhanced = files.length === 1 && files[0].frames ? files[0] : undefined
  if (!enhanced) return files
  return enhanced.frames!.map((f, i) => ({ ...enhanced, position: f.position, pixelMapping: f.pixelMapping, frameIndex: i, frames: undefined }))
}
