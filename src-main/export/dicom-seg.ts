/**
 * DICOM Segmentation (SEG) export and import, written with dcmjs's dataset writer (the SEG
 * structure itself is ours: dcmjs's derivations drop empty segments and assume Cornerstone images).
 *
 * Export: BINARY, one segment per label (every model organ, even when absent, and every other
 * class present), one frame per segment and slice that holds it (one empty frame for an absent
 * segment, so it is not lost), each frame referencing its source CT instance. Segment coding:
 * SNOMED CT category/type (+ anatomic region for lesions), RecommendedDisplayCIELabValue from the
 * label colour, SegmentAlgorithmType AUTOMATIC when the organ is exactly the model's prediction,
 * SEMIAUTOMATIC when edited, MANUAL when there was no prediction; SegmentAlgorithmName = model id
 * and version. Checked by dciodvfy in the tests.
 *
 * Import: frames are placed on a reference CT grid by ImagePositionPatient (never by frame order)
 * and segments are mapped to label values by code (SNOMED CT, or the old SNOMED RT codes dcmqi
 * wrote) or by name. Overlapping segments (allowed in SEG, not in a labelmap) are reported.
 */
import { readFileSync } from 'node:fs'
import { dicomPart10, parseDicomPart10 } from '../volumes/dicom-file.js'
import { basename, relative } from 'node:path'
import dcmjs from 'dcmjs'
import { dicomSliceFiles, type DicomSlice } from '../volumes/dicom.js'
import { column, worldToIndex } from '../../src-shared/geometry.js'
import { detectFormat } from '../volumes/read.js'
import { createLabelVolume, type Geometry, type LabelVolume, type Vec3 } from '../../src-shared/volume.js'
import { writeFileAtomic } from '../util/atomic-write.js'
import { addLabel } from '../cases/label-table.js'
import type { Code, LabelTable, WorkspaceLabel } from '../cases/schemas.js'
import { editStats } from '../cases/label-stats.js'
import { ExportError, checkSameGrid, checkTargets, histogram, provenanceFor, sourcesOf, stemOf, writeJson, type LabelExportInput, type TargetOptions } from './common.js'
import { dicomDate, ds, encodePart10, newUid } from './dicom-util.js'
import { reverseSlices, sliceAxisReversed, writeNewCtSeries } from './dicom-ct.js'
import { labelSidecar } from './label-sidecar.js'

export { ds, newUid } from './dicom-util.js'

const SEG_SOP_CLASS = '1.2.840.10008.5.1.4.1.1.66.4'

const code = (c: Code) => ({ CodeValue: c.code, CodingSchemeDesignator: c.scheme, CodeMeaning: c.meaning.slice(0, 64) })

/** The source series' first file, naturalized (patient/study attributes are copied from it). */
function sourceHeader(file: string): Record<string, unknown> {
  const part10 = dicomPart10(readFileSync(file))
  if (!part10) throw new ExportError(`${file}: not a DICOM file`)
  try {
    return dcmjs.data.DicomMetaDictionary.naturalizeDataset(parseDicomPart10(part10.bytes, true).dict) as Record<string, unknown>
  } catch (e) {
    throw new ExportError(`${file}: the DICOM header could not be read (${(e as Error).message})`)
  }
}

export interface SegSegment {
  number: number
  label: WorkspaceLabel
  algorithmType: 'AUTOMATIC' | 'SEMIAUTOMATIC' | 'MANUAL'
}

/** Which labels become segments, and how each was made. */
export function planSegments(input: LabelExportInput): SegSegment[] {
  const h = histogram(input.labels.data)
  const labels = input.table.labels.filter((l) => (l.source === 'model' && !l.retired) || h[l.value] > 0)
  const edits = editStats(input.prediction, input.labels.data, labels.map((l) => l.value))
  const model = input.model ?? input.caseFile?.prediction?.model
  return labels.map((l, i) => {
    const e = edits[i]
    const algorithmType = !input.prediction || !model || (e.predictedVoxels === 0 && e.finalVoxels > 0 && l.source === 'team') ? 'MANUAL' : e.added + e.removed === 0 ? 'AUTOMATIC' : 'SEMIAUTOMATIC'
    return { number: i + 1, label: l, algorithmType }
  })
}

export interface DicomSegOptions {
  seriesDescription?: string
  /** ContentCreatorName (the annotator) */
  creator?: string
  seriesNumber?: number
  now?: Date
}

const NEW_STUDY_HINT =
  'export as a new study instead (CLI: --new-study; app: "as a new study"): the CT is then written as a new DICOM series with fresh UIDs, and the SEG references that'

/**
 * The slices of the DICOM series a SEG will reference. A SEG points at its source images by
 * Study/Series/SOP Instance UID and shares their Frame of Reference; a source without them (not
 * DICOM, or anonymised with the UIDs blanked) cannot be referenced, so it is refused by name.
 */
export function referencedSlices(input: Pick<LabelExportInput, 'ctPath' | 'ct'>): DicomSlice[] {
  const format = detectFormat(input.ctPath)
  if (format !== 'dicom') {
    throw new ExportError(`${input.ctPath}: the CT is a ${format === 'metaimage' ? 'MetaImage' : format === 'nrrd' ? 'NRRD' : 'NIfTI'} file, not DICOM images, so a DICOM SEG has nothing to reference; ${NEW_STUDY_HINT}`)
  }
  const slices = dicomSliceFiles(input.ctPath, input.ct.meta.seriesUid)
  const blank = (v: string | undefined) => !v || !v.trim()
  const checks: [string, (s: DicomSlice) => boolean][] = [
    ['Study Instance UID (0020,000D)', (s) => blank(s.studyUid)],
    ['Series Instance UID (0020,000E)', (s) => blank(s.seriesUid)],
    ['SOP Instance UID (0008,0018)', (s) => blank(s.sopInstanceUid)],
    ['Frame of Reference UID (0020,0052)', (s) => blank(s.frameOfReferenceUid)],
  ]
  const problems: string[] = []
  for (const [name, missing] of checks) {
    // counted in files: an enhanced CT's frames are one file
    const bad = [...new Set(slices.filter(missing).map((s) => s.file))]
    const files = new Set(slices.map((s) => s.file)).size
    if (bad.length) problems.push(`${name} missing or blank in ${bad.length} of ${files} files (e.g. ${relative(input.ctPath, bad[0]) || basename(bad[0])})`)
  }
  const seen = new Map<string, string>()
  for (const s of slices) {
    // the frames of one enhanced file share its SOP Instance UID (and are referenced by frame number)
    if (blank(s.sopInstanceUid) || s.frameIndex) continue
    const other = seen.get(s.sopInstanceUid)
    if (other) {
      problems.push(`SOP Instance UID (0008,0018) ${s.sopInstanceUid} used by two files (${relative(input.ctPath, other) || other} and ${relative(input.ctPath, s.file) || s.file})`)
      break
    }
    seen.set(s.sopInstanceUid, s.file)
  }
  if (problems.length) throw new ExportError(`${input.ctPath}: a DICOM SEG must reference its source images by their UIDs, but this series has ${problems.join('; ')}. Nothing was written; ${NEW_STUDY_HINT}`)
  return slices
}

/** Builds the SEG bytes for labels on the grid of the DICOM series at input.ctPath. */
export function encodeDicomSeg(input: LabelExportInput, opts: DicomSegOptions = {}): { bytes: Uint8Array; segments: SegSegment[]; frames: number } {
  checkSameGrid(input)
  const slices = referencedSlices(input)
  const [nx, ny, nz] = input.ct.dims
  if (slices.length !== nz) throw new ExportError(`${input.ctPath}: the series has ${slices.length} slices but the CT volume ${nz}; DICOM SEG needs the DICOM series the labels were drawn on`)
  if (slices[0].rows !== ny || slices[0].columns !== nx) throw new ExportError(`${input.ctPath}: slices are ${slices[0].columns}×${slices[0].rows}, the labels ${nx}×${ny}`)
  const src = sourceHeader(slices[0].file)
  const srcSopClass = String(src.SOPClassUID ?? '1.2.840.10008.5.1.4.1.1.2')
  const model = input.model ?? input.caseFile?.prediction?.model
  const segments = planSegments(input)
  const now = opts.now ?? new Date()
  const { date, time } = dicomDate(now)
  const sop = newUid()
  const dimOrg = newUid()

  // frames: (segment, slice) pairs holding voxels; an absent segment keeps one empty frame
  const frameSize = nx * ny
  const frames: { seg: number; k: number }[] = []
  for (const s of segments) {
    const v = s.label.value
    let any = false
    for (let k = 0; k < nz; k++) {
      const base = k * frameSize
      for (let p = 0; p < frameSize; p++) {
        if (input.labels.data[base + p] === v) {
          frames.push({ seg: s.number, k })
          any = true
          break
        }
      }
    }
    if (!any) frames.push({ seg: s.number, k: 0 })
  }
  // 1-bit pixels, frames packed back to back (no per-frame padding), first pixel in the lowest bit
  const totalBits = frames.length * frameSize
  const pixels = new Uint8Array(Math.ceil(totalBits / 8) + (Math.ceil(totalBits / 8) % 2))
  frames.forEach((f, fi) => {
    const v = segments[f.seg - 1].label.value
    const base = f.k * frameSize
    const bit0 = fi * frameSize
    for (let p = 0; p < frameSize; p++) {
      if (input.labels.data[base + p] === v) {
        const b = bit0 + p
        pixels[b >> 3] |= 1 << (b & 7)
      }
    }
  })

  const row = column(input.ct.direction, 0)
  const col = column(input.ct.direction, 1)
  const algorithmName = model ? `${model.id} ${model.version}`.slice(0, 64) : undefined
  const ds1: Record<string, unknown> = {
    SpecificCharacterSet: 'ISO_IR 192',
    ImageType: ['DERIVED', 'PRIMARY'],
    SOPClassUID: SEG_SOP_CLASS,
    SOPInstanceUID: sop,
    StudyDate: src.StudyDate ?? '',
    SeriesDate: date,
    ContentDate: date,
    StudyTime: src.StudyTime ?? '',
    SeriesTime: time,
    ContentTime: time,
    AccessionNumber: src.AccessionNumber ?? '',
    Modality: 'SEG',
    Manufacturer: 'SCN Studio',
    ReferringPhysicianName: src.ReferringPhysicianName ?? '',
    SeriesDescription: (opts.seriesDescription ?? 'SCN Studio segmentation').slice(0, 64),
    ManufacturerModelName: 'SCN Studio',
    ReferencedSeriesSequence: [
      {
        SeriesInstanceUID: slices[0].seriesUid,
        ReferencedInstanceSequence: [...new Set(slices.map((s) => s.sopInstanceUid))].map((uid) => ({ ReferencedSOPClassUID: srcSopClass, ReferencedSOPInstanceUID: uid })),
      },
    ],
    PatientName: src.PatientName ?? '',
    PatientID: src.PatientID ?? '',
    PatientBirthDate: src.PatientBirthDate ?? '',
    PatientSex: src.PatientSex ?? '',
    DeviceSerialNumber: '1',
    SoftwareVersions: 'SCN Studio 0.1.0',
    StudyInstanceUID: src.StudyInstanceUID ?? slices[0].studyUid,
    SeriesInstanceUID: newUid(),
    StudyID: src.StudyID ?? '',
    SeriesNumber: opts.seriesNumber ?? 300,
    InstanceNumber: 1,
    FrameOfReferenceUID: src.FrameOfReferenceUID ?? slices[0].frameOfReferenceUid ?? newUid(),
    PositionReferenceIndicator: src.PositionReferenceIndicator ?? '',
    DimensionOrganizationSequence: [{ DimensionOrganizationUID: dimOrg }],
    DimensionIndexSequence: [
      { DimensionOrganizationUID: dimOrg, DimensionIndexPointer: 0x0062000b, FunctionalGroupPointer: 0x0062000a, DimensionDescriptionLabel: 'ReferencedSegmentNumber' },
      { DimensionOrganizationUID: dimOrg, DimensionIndexPointer: 0x00200032, FunctionalGroupPointer: 0x00209113, DimensionDescriptionLabel: 'ImagePositionPatient' },
    ],
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    NumberOfFrames: frames.length,
    Rows: ny,
    Columns: nx,
    BitsAllocated: 1,
    BitsStored: 1,
    HighBit: 0,
    PixelRepresentation: 0,
    LossyImageCompression: '00',
    SegmentationType: 'BINARY',
    SegmentSequence: segments.map((s) => ({
      SegmentNumber: s.number,
      SegmentLabel: s.label.name.slice(0, 64),
      SegmentAlgorithmType: s.algorithmType,
      ...(s.algorithmType !== 'MANUAL' && algorithmName ? { SegmentAlgorithmName: algorithmName } : {}),
      SegmentedPropertyCategoryCodeSequence: [code(s.label.category)],
      SegmentedPropertyTypeCodeSequence: [code(s.label.snomed)],
      ...(s.label.anatomicRegion ? { AnatomicRegionSequence: [code(s.label.anatomicRegion)] } : {}),
      RecommendedDisplayCIELabValue: dcmjs.data.Colors.rgb2DICOMLAB(s.label.color.map((c) => c / 255)).map((x: number) => Math.max(0, Math.min(65535, Math.round(x)))),
    })),
    ContentLabel: 'SEGMENTATION',
    ContentDescription: 'Organ segmentation (SCN Studio)',
    ContentCreatorName: opts.creator ?? input.annotators?.[0] ?? input.caseFile?.annotators[0] ?? '',
    SharedFunctionalGroupsSequence: [
      {
        PlaneOrientationSequence: [{ ImageOrientationPatient: [...row, ...col].map(ds) }],
        PixelMeasuresSequence: [{ SliceThickness: ds(input.ct.spacing[2]), SpacingBetweenSlices: ds(input.ct.spacing[2]), PixelSpacing: [ds(input.ct.spacing[1]), ds(input.ct.spacing[0])] }],
      },
    ],
    PerFrameFunctionalGroupsSequence: frames.map((f) => ({
      DerivationImageSequence: [
        {
          SourceImageSequence: [
            {
              ReferencedSOPClassUID: srcSopClass,
              ReferencedSOPInstanceUID: slices[f.k].sopInstanceUid,
              ...(slices[f.k].frameIndex !== undefined ? { ReferencedFrameNumber: slices[f.k].frameIndex! + 1 } : {}),
              PurposeOfReferenceCodeSequence: [{ CodeValue: '121322', CodingSchemeDesignator: 'DCM', CodeMeaning: 'Source image for image processing operation' }],
            },
          ],
          DerivationCodeSequence: [{ CodeValue: '113076', CodingSchemeDesignator: 'DCM', CodeMeaning: 'Segmentation' }],
        },
      ],
      FrameContentSequence: [{ DimensionIndexValues: [f.seg, f.k + 1] }],
      // the exact grid position of slice k (the CT's, not the source file's rounded text)
      PlanePositionSequence: [{ ImagePositionPatient: slicePosition(input.ct, f.k).map(ds) }],
      SegmentIdentificationSequence: [{ ReferencedSegmentNumber: f.seg }],
    })),
  }
  return { bytes: encodePart10(ds1, { vr: 'OB', buffer: pixels.buffer }), segments, frames: frames.length }
}

function slicePosition(g: Geometry, k: number): Vec3 {
  const c = column(g.direction, 2)
  return [g.origin[0] + c[0] * g.spacing[2] * k, g.origin[1] + c[1] * g.spacing[2] * k, g.origin[2] + c[2] * g.spacing[2] * k]
}

export interface DicomSegExportOptions extends DicomSegOptions, TargetOptions {
  /**
   * Write the CT as a new DICOM series (new study, fresh UIDs) into `<stem>_ct/` and make the SEG
   * reference it: for sources a SEG cannot reference (not DICOM, or without UIDs).
   */
  newStudy?: boolean
}

/** The files and folders a DICOM SEG export to `out` writes (the new CT series folder with newStudy). */
export function dicomSegTargets(out: string, newStudy = false): string[] {
  const file = /\.dcm$/i.test(out) ? out : `${out}.dcm`
  const stem = stemOf(file)
  return [file, `${stem}.labels.json`, `${stem}.provenance.json`, ...(newStudy ? [`${stem}_ct`] : [])]
}

export async function exportDicomSeg(input: LabelExportInput, out: string, opts: DicomSegExportOptions = {}): Promise<string[]> {
  checkSameGrid(input)
  const targets = dicomSegTargets(out, opts.newStudy)
  checkTargets(targets, sourcesOf(input), opts)
  const [file, tableFile, provFile] = targets
  let segInput = input
  const written: string[] = []
  if (opts.newStudy) {
    // DICOM stacks slices along row × column; a volume whose k axis points the other way is
    // written (and its labels encoded) with k reversed: the same voxels at the same points.
    const reversed = sliceAxisReversed(input.ct, input.ctPath)
    const flip = <T extends LabelExportInput['ct'] | LabelExportInput['labels']>(v: T): T => (reversed ? reverseSlices(v) : v)
    const series = await writeNewCtSeries(flip(input.ct), targets[3], {
      source: detectFormat(input.ctPath) === 'dicom' ? sourceHeader(dicomSliceFiles(input.ctPath, input.ct.meta.seriesUid)[0].file) : undefined,
      sourceName: basename(input.ctPath),
      seriesDescription: input.ct.meta.description ? `${input.ct.meta.description} (new study)` : undefined,
      now: opts.now,
    })
    const ct = flip(input.ct)
    const prediction = input.prediction && reversed ? reverseSlices({ ...input.labels, data: input.prediction }).data : input.prediction
    segInput = { ...input, ct: { ...ct, meta: { ...ct.meta, seriesUid: series.seriesUid, sourcePath: series.dir } }, ctPath: series.dir, labels: flip(input.labels), prediction }
    written.push(...series.files)
  }
  const { bytes } = encodeDicomSeg(segInput, opts)
  const files = [file, tableFile, provFile, ...written]
  await writeFileAtomic(file, bytes)
  await writeJson(tableFile, labelSidecar(input.table, input.labels.data))
  await writeJson(provFile, provenanceFor(segInput, 'dicom-seg', files))
  return files
}

// ---- import ------------------------------------------------------------------------------------

/** Old SNOMED RT codes (scheme SRT) that dcmqi/Slicer wrote, mapped to SNOMED CT. */
const SRT_TO_SCT: Record<string, string> = { 'T-62000': '10200004', 'T-71000': '64033007', 'T-C3000': '78961009', 'T-65000': '15776009', 'T-D0050': '85756007' }

export interface ImportedSegment {
  number: number
  name: string
  typeCode: string
  /** label value in the table, null when it matched nothing and was skipped */
  value: number | null
  voxels: number
}

export interface ImportedSeg {
  labels: LabelVolume
  segments: ImportedSegment[]
  /** voxels claimed by more than one segment (the higher segment number wins) */
  overlaps: { segments: [number, number]; voxels: number }[]
  /** the table, extended when unknown segments were added */
  table: LabelTable
}

export interface ImportSegOptions {
  /** unknown segments: 'error' (default), 'skip', or 'add' as new team classes */
  unknown?: 'error' | 'skip' | 'add'
}

type Item = Record<string, unknown>
const first = (v: unknown): Item | undefined => (Array.isArray(v) ? (v[0] as Item) : (v as Item | undefined))

/** Reads a DICOM SEG onto `grid` (the CT it segments) with label values from `table`. */
export function readDicomSeg(file: string, grid: Geometry, table: LabelTable, opts: ImportSegOptions = {}): ImportedSeg {
  const part10 = dicomPart10(readFileSync(file))
  let n: Item
  try {
    if (!part10) throw new Error('no DICOM preamble or data set at its start')
    const parsed = parseDicomPart10(part10.bytes, false)
    n = dcmjs.data.DicomMetaDictionary.naturalizeDataset(parsed.dict) as Item
  } catch (e) {
    throw new ExportError(`${file}: not a readable DICOM file (${(e as Error).message})`)
  }
  if (n.SOPClassUID !== SEG_SOP_CLASS) throw new ExportError(`${file}: not a DICOM Segmentation (SOP class ${String(n.SOPClassUID)})`)
  const type = String(n.SegmentationType)
  if (type !== 'BINARY' && type !== 'FRACTIONAL') throw new ExportError(`${file}: segmentation type ${type} is not supported`)
  const rows = Number(n.Rows)
  const cols = Number(n.Columns)
  const [nx, ny, nz] = grid.dims
  if (rows !== ny || cols !== nx) throw new ExportError(`${file}: frames are ${cols}×${rows} but the CT slices are ${nx}×${ny}`)
  const shared = first(n.SharedFunctionalGroupsSequence) ?? {}
  const perFrame = (n.PerFrameFunctionalGroupsSequence as Item[]) ?? []
  const nFrames = Number(n.NumberOfFrames ?? perFrame.length)
  const iopOf = (f: Item) => (first(first(f.PlaneOrientationSequence)?.ImageOrientationPatient ? f.PlaneOrientationSequence : shared.PlaneOrientationSequence)?.ImageOrientationPatient as unknown[]) ?? []
  const dir = [...column(grid.direction, 0), ...column(grid.direction, 1)]

  let t = table
  const segItems = (n.SegmentSequence as Item[]) ?? []
  const segments: ImportedSegment[] = []
  const valueOf = new Map<number, number | null>()
  for (const s of segItems) {
    const num = Number(s.SegmentNumber)
    const name = String(s.SegmentLabel ?? `segment ${num}`)
    const tc = first(s.SegmentedPropertyTypeCodeSequence) ?? {}
    const rc = first(s.AnatomicRegionSequence)
    const norm = (c: Item | undefined) => (c ? (c.CodingSchemeDesignator === 'SRT' ? (SRT_TO_SCT[String(c.CodeValue)] ?? String(c.CodeValue)) : String(c.CodeValue)) : undefined)
    const typeCode = norm(tc) ?? ''
    const regionCode = norm(rc)
    let label = t.labels.find((l) => l.snomed.code === typeCode && (l.anatomicRegion?.code ?? undefined) === regionCode && typeCode !== '85756007')
    label ??= t.labels.find((l) => l.name.toLowerCase() === name.toLowerCase())
    let value: number | null = label?.value ?? null
    if (value === null) {
      if (opts.unknown === 'add') {
        const cc = first(s.SegmentedPropertyCategoryCodeSequence)
        const asCode = (c: Item | undefined) => (c ? { code: String(c.CodeValue), meaning: String(c.CodeMeaning ?? c.CodeValue).slice(0, 64), scheme: String(c.CodingSchemeDesignator ?? 'SCT') } : undefined)
        const lab = Array.isArray(s.RecommendedDisplayCIELabValue) ? (dcmjs.data.Colors.dicomlab2RGB(s.RecommendedDisplayCIELabValue) as number[]).map((x) => Math.max(0, Math.min(255, Math.round(x * 255)))) : undefined
        const r = addLabel(t, { name, ...(lab ? { color: lab as [number, number, number] } : {}), snomed: asCode(tc), category: asCode(cc), ...(rc ? { anatomicRegion: asCode(rc) } : {}) })
        t = r.table
        value = r.added.value
      } else if (opts.unknown !== 'skip') {
        throw new ExportError(`${file}: segment ${num} "${name}" (code ${typeCode || 'none'}) matches no label in the workspace table; import with unknown: 'add' or 'skip'`)
      }
    }
    valueOf.set(num, value)
    segments.push({ number: num, name, typeCode, value, voxels: 0 })
  }

  const labels = createLabelVolume(grid, { sourcePath: file, modality: 'SEG' })
  const owner = new Uint16Array(labels.data.length) // segment number that wrote each voxel
  const overlapCount = new Map<string, number>()
  const pix = n.PixelData as ArrayBuffer[] | ArrayBuffer
  const raw = new Uint8Array(Array.isArray(pix) ? pix[0] : pix)
  const frameSize = rows * cols
  const bits = Number(n.BitsAllocated)
  if (raw.length * (bits === 1 ? 8 : 1) < nFrames * frameSize) throw new ExportError(`${file}: pixel data is shorter than ${nFrames} frames of ${cols}×${rows}`)
  for (let fi = 0; fi < nFrames; fi++) {
    const f = perFrame[fi] ?? {}
    const iop = iopOf(f).map(Number)
    if (iop.length === 6 && iop.some((v, i) => Math.abs(v - dir[i]) > 1e-3)) throw new ExportError(`${file}: frame ${fi + 1} is oriented differently from the CT (${iop.join(', ')}); resampling a SEG is not supported`)
    const pos = (first(first(f.PlanePositionSequence)?.ImagePositionPatient ? f.PlanePositionSequence : shared.PlanePositionSequence)?.ImagePositionPatient as unknown[] | undefined)?.map(Number)
    if (!pos || pos.length !== 3) throw new ExportError(`${file}: frame ${fi + 1} has no Image Position (Patient)`)
    const ijk = worldToIndex(grid, pos as Vec3)
    const k = Math.round(ijk[2])
    if (Math.abs(ijk[0]) > 0.01 || Math.abs(ijk[1]) > 0.01 || Math.abs(ijk[2] - k) > 0.01 || k < 0 || k >= nz) {
      throw new ExportError(`${file}: frame ${fi + 1} at (${pos.map((x) => x.toFixed(2)).join(', ')}) is not a slice of the CT grid (index ${ijk.map((x) => x.toFixed(2)).join(', ')})`)
    }
    const segNum = Number(first(f.SegmentIdentificationSequence ?? shared.SegmentIdentificationSequence)?.ReferencedSegmentNumber)
    const value = valueOf.get(segNum)
    if (value === undefined) throw new ExportError(`${file}: frame ${fi + 1} refers to segment ${segNum}, which the file does not define`)
    if (value === null) continue
    const seg = segments.find((s) => s.number === segNum)!
    const base = k * frameSize
    const fracMax = Number(n.MaximumFractionalValue ?? 255)
    for (let p = 0; p < frameSize; p++) {
      let on: boolean
      if (bits === 1) {
        const b = fi * frameSize + p
        on = ((raw[b >> 3] >> (b & 7)) & 1) === 1
      } else on = raw[fi * frameSize + p] >= fracMax / 2
      if (!on) continue
      const idx = base + p
      const prev = owner[idx]
      if (prev && prev !== segNum) {
        const key = `${Math.min(prev, segNum)}:${Math.max(prev, segNum)}`
        overlapCount.set(key, (overlapCount.get(key) ?? 0) + 1)
        if (prev > segNum) continue // the higher segment number wins, whatever the frame order
        const ps = segments.find((s) => s.number === prev)
        if (ps) ps.voxels--
      }
      if (prev !== segNum) {
        owner[idx] = segNum
        labels.data[idx] = value
        seg.voxels++
      }
    }
  }
  const overlaps = [...overlapCount.entries()].map(([k, v]) => ({ segments: k.split(':').map(Number) as [number, number], voxels: v }))
  return { labels, segments, overlaps, table: t }
}
