/** One entry point for opening any volume the product supports, by path. */
import { statSync } from 'node:fs'
import { VolumeError, statInput } from './errors.js'
import { readNifti, writeNifti } from './nifti.js'
import { readMetaImage, readNrrd, writeNrrd } from './nrrd.js'
import { listDicomSeries, readDicomSeries, type DicomSeriesInfo } from './dicom.js'
import { orientationCode, rasAffine } from './geometry.js'
import type { CtVolume, LabelVolume, Volume } from './volume.js'

export type VolumeFormat = 'nifti' | 'nrrd' | 'metaimage' | 'dicom'

export function detectFormat(path: string): VolumeFormat {
  if (statInput(path, 'file or folder').isDirectory()) return 'dicom'
  const p = path.toLowerCase()
  if (p.endsWith('.nii') || p.endsWith('.nii.gz')) return 'nifti'
  if (p.endsWith('.nrrd') || p.endsWith('.nhdr')) return 'nrrd'
  if (p.endsWith('.mha') || p.endsWith('.mhd')) return 'metaimage'
  if (p.endsWith('.dcm')) return 'dicom'
  throw new VolumeError('unsupported', path, 'unknown file type: SCN Studio opens .nii, .nii.gz, .nrrd, .seg.nrrd, .mha, .mhd and DICOM folders')
}

export interface ReadOptions {
  /** DICOM: the series to read when a folder holds several */
  seriesUid?: string
}

export async function readVolume(path: string, opts: ReadOptions = {}): Promise<Volume> {
  switch (detectFormat(path)) {
    case 'nifti':
      return readNifti(path)
    case 'nrrd':
      return readNrrd(path)
    case 'metaimage':
      return readMetaImage(path)
    case 'dicom':
      return readDicomSeries(path, { seriesUid: opts.seriesUid })
  }
}

/** A CT in HU: Int16Array when the values are integral, else Float32Array. */
export async function readCt(path: string, opts: ReadOptions = {}): Promise<CtVolume> {
  const v = await readVolume(path, opts)
  if (v.data instanceof Int16Array || v.data instanceof Float32Array) return v as CtVolume
  const data = new Int16Array(v.data.length)
  for (let i = 0; i < data.length; i++) data[i] = v.data[i]
  return { ...v, data }
}

/** A labelmap: integer values 0..255 as Uint8Array. */
export async function readLabels(path: string): Promise<LabelVolume> {
  const v = await readVolume(path)
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
}

export async function describeVolume(path: string, opts: ReadOptions = {}): Promise<VolumeInfo> {
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
  }
}
