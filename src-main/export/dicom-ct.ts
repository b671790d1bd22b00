/**
 * A CT volume written as a new DICOM series ("export as a new study"): classic CT Image Storage,
 * one file per slice, fresh Study/Series/SOP Instance and Frame of Reference UIDs, signed 16-bit
 * HU with slope 1 and intercept 0 (HU exact), positions and orientation from the volume's own grid
 * (DS values carry 12 significant digits). A DICOM SEG then references these instances; this is
 * how a SEG is made from a NIfTI/NRRD/MHA CT or from an anonymised series without UIDs.
 */
import { existsSync } from 'node:fs'
import { mkdir, rename, rm } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { column, cross, dot, indexToWorld } from '../../src-shared/geometry.js'
import type { CtVolume, Mat3, Volume } from '../../src-shared/volume.js'
import { writeFileAtomic } from '../util/atomic-write.js'
import { ExportError } from './common.js'
import { dicomDate, ds, encodePart10, newUid } from './dicom-util.js'

export const CT_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.2'

/** Patient and study attributes worth keeping from a DICOM source (everything else is new). */
export const KEPT_PATIENT_ATTRIBUTES = ['PatientName', 'PatientID', 'PatientBirthDate', 'PatientSex', 'PatientAge', 'StudyDescription', 'StudyDate', 'StudyTime', 'PatientPosition'] as const

export interface NewCtSeries {
  dir: string
  /** one file per slice, in slice order */
  files: string[]
  sopInstanceUids: string[]
  studyUid: string
  seriesUid: string
  frameOfReferenceUid: string
}

export interface NewCtSeriesOptions {
  /** attributes copied from the source's first DICOM file, when it was DICOM (KEPT_PATIENT_ATTRIBUTES) */
  source?: Record<string, unknown>
  /** what the series was made from, for DerivationDescription */
  sourceName?: string
  seriesDescription?: string
  seriesNumber?: number
  now?: Date
}

/**
 * DICOM stacks slices along rowDirection × columnDirection. Returns whether the volume's slice axis
 * points the other way (its k axis must then be reversed before writing); refuses a slice axis
 * that is not perpendicular to the slices (a sheared grid: classic CT images cannot store it).
 */
export function sliceAxisReversed(ct: Pick<CtVolume, 'direction'>, path: string): boolean {
  const normal = cross(column(ct.direction, 0), column(ct.direction, 1))
  const c = dot(normal, column(ct.direction, 2))
  if (Math.abs(Math.abs(c) - 1) > 1e-4) {
    throw new ExportError(`${path}: the slice axis is not perpendicular to the slices (a sheared or tilted grid, cos ${c.toFixed(4)}); a DICOM CT series cannot store it exactly. Resample it onto an orthogonal grid first`)
  }
  return c < 0
}

/** The same voxels on the same points with the k axis reversed (origin at the former last slice). */
export function reverseSlices<T extends Volume>(v: T): T {
  const [nx, ny, nz] = v.dims
  const plane = nx * ny
  const data = new (v.data.constructor as new (n: number) => T['data'])(v.data.length)
  for (let k = 0; k < nz; k++) data.set(v.data.subarray((nz - 1 - k) * plane, (nz - k) * plane), k * plane)
  const d = v.direction
  const direction: Mat3 = [d[0], d[1], -d[2], d[3], d[4], -d[5], d[6], d[7], -d[8]]
  return { ...v, origin: indexToWorld(v, [0, 0, nz - 1]), direction, data }
}

/** HU as signed 16-bit integers (a float CT is rounded, as the app does on open). */
function int16Slices(ct: CtVolume): Int16Array {
  if (ct.data instanceof Int16Array) return ct.data
  const out = new Int16Array(ct.data.length)
  for (let i = 0; i < out.length; i++) out[i] = Math.max(-32768, Math.min(32767, Math.round(ct.data[i])))
  return out
}

/**
 * Writes `ct` (whose slice axis must already point along row × column, see sliceAxisReversed) as a
 * new series in `dir`. The folder appears complete or not at all: the files go into a hidden
 * sibling first, which then replaces `dir` (the caller has checked that replacing it is wanted).
 */
export async function writeNewCtSeries(ct: CtVolume, dir: string, opts: NewCtSeriesOptions = {}): Promise<NewCtSeries> {
  if (sliceAxisReversed(ct, dir)) throw new ExportError(`${dir}: internal: reverse the slice axis before writing a DICOM series`)
  const [nx, ny, nz] = ct.dims
  const hu = int16Slices(ct)
  const studyUid = newUid()
  const seriesUid = newUid()
  const frameOfReferenceUid = newUid()
  const { date, time } = dicomDate(opts.now ?? new Date())
  const src = opts.source ?? {}
  const kept = Object.fromEntries(KEPT_PATIENT_ATTRIBUTES.filter((k) => src[k] !== undefined && src[k] !== null).map((k) => [k, src[k]]))
  const row = column(ct.direction, 0)
  const col = column(ct.direction, 1)
  const plane = nx * ny
  const tmp = join(dirname(dir), `.${basename(dir)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
  await mkdir(tmp, { recursive: true })
  const names: string[] = []
  const sops: string[] = []
  try {
    for (let k = 0; k < nz; k++) {
      const sop = newUid()
      const dataset: Record<string, unknown> = {
        SpecificCharacterSet: 'ISO_IR 192',
        ImageType: ['DERIVED', 'SECONDARY', 'AXIAL'],
        SOPClassUID: CT_IMAGE_STORAGE,
        SOPInstanceUID: sop,
        StudyDate: date,
        SeriesDate: date,
        ContentDate: date,
        StudyTime: time,
        SeriesTime: time,
        ContentTime: time,
        AccessionNumber: '',
        Modality: 'CT',
        Manufacturer: 'SCN Studio',
        ReferringPhysicianName: '',
        SeriesDescription: (opts.seriesDescription ?? 'SCN Studio CT (new study)').slice(0, 64),
        ManufacturerModelName: 'SCN Studio',
        DerivationDescription: `Converted by SCN Studio from ${opts.sourceName ?? 'a CT volume'} as a new study with new identifiers`.slice(0, 1024),
        PatientName: '',
        PatientID: '',
        PatientBirthDate: '',
        PatientSex: '',
        PatientPosition: '',
        // type 2C (paired body parts); dciodvfy cannot judge the condition, so it is always present
        Laterality: '',
        SliceThickness: ds(ct.spacing[2]),
        KVP: '',
        SoftwareVersions: 'SCN Studio',
        StudyInstanceUID: studyUid,
        SeriesInstanceUID: seriesUid,
        StudyID: '',
        SeriesNumber: opts.seriesNumber ?? 1,
        AcquisitionNumber: '',
        InstanceNumber: k + 1,
        ImagePositionPatient: indexToWorld(ct, [0, 0, k]).map(ds),
        ImageOrientationPatient: [...row, ...col].map(ds),
        FrameOfReferenceUID: frameOfReferenceUid,
        PositionReferenceIndicator: '',
        SamplesPerPixel: 1,
        PhotometricInterpretation: 'MONOCHROME2',
        Rows: ny,
        Columns: nx,
        PixelSpacing: [ds(ct.spacing[1]), ds(ct.spacing[0])],
        BitsAllocated: 16,
        BitsStored: 16,
        HighBit: 15,
        PixelRepresentation: 1,
        WindowCenter: '40',
        WindowWidth: '400',
        RescaleIntercept: '0',
        RescaleSlope: '1',
        ...kept,
      }
      // copy the slice: dcmjs writes the whole underlying buffer
      const pixels = hu.slice(k * plane, (k + 1) * plane)
      const name = `CT${String(k + 1).padStart(5, '0')}.dcm`
      await writeFileAtomic(join(tmp, name), encodePart10(dataset, { vr: 'OW', buffer: pixels.buffer }))
      names.push(name)
      sops.push(sop)
    }
    if (existsSync(dir)) {
      // replace (the caller checked it may): move the old folder aside, the new one in, then drop the old
      const old = `${tmp}.old`
      await rename(dir, old)
      try {
        await rename(tmp, dir)
      } catch (e) {
        await rename(old, dir).catch(() => {})
        throw e
      }
      await rm(old, { recursive: true, force: true })
    } else {
      await mkdir(dirname(dir), { recursive: true })
      await rename(tmp, dir)
    }
  } catch (e) {
    await rm(tmp, { recursive: true, force: true }).catch(() => {})
    throw e
  }
  return { dir, files: names.map((n) => join(dir, n)), sopInstanceUids: sops, studyUid, seriesUid, frameOfReferenceUid }
}
