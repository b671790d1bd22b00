/**
 * Adapter over itk-wasm (runs its WASI builds under Node, offline). Used for NRRD, MetaImage and
 * DICOM pixel decoding (GDCM: JPEG 2000, JPEG-LS, JPEG lossless, RLE).
 */
import type { Image } from 'itk-wasm'
import { VolumeError } from './errors.js'
import type { Mat3, Vec3, Volume, VoxelArray } from '../../src-shared/volume.js'

export function volumeFromItkImage(file: string, img: Image): Volume {
  if (img.imageType.dimension !== 3 && img.imageType.dimension !== 2) {
    throw new VolumeError('unsupported', file, `this is a ${img.imageType.dimension}-D image; SCN Studio opens 3-D volumes`)
  }
  if (img.imageType.components !== 1) {
    throw new VolumeError('unsupported', file, `the image has ${img.imageType.components} components per voxel (colour or vector data); a CT has one`)
  }
  const d = img.size
  const dims: Vec3 = [d[0], d[1] ?? 1, d[2] ?? 1]
  const sp = img.spacing
  const spacing: Vec3 = [sp[0], sp[1] ?? 1, sp[2] ?? 1]
  if (!spacing.every((s) => Number.isFinite(s) && s > 0)) {
    throw new VolumeError('bad-spacing', file, `the voxel spacing is invalid (${spacing.join(', ')}): every spacing must be a positive number`)
  }
  const o = img.origin
  const origin: Vec3 = [o[0], o[1] ?? 0, o[2] ?? 0]
  const dir = Array.from(img.direction as ArrayLike<number>)
  // itk-wasm stores the direction row-major with column j = index axis j, exactly our convention.
  const direction = (dir.length === 9 ? dir : [dir[0], dir[1], 0, dir[2], dir[3], 0, 0, 0, 1]) as Mat3
  const data = img.data as VoxelArray | null
  if (!data) throw new VolumeError('no-pixel-data', file, 'the file holds no pixel data')
  const n = dims[0] * dims[1] * dims[2]
  if (data.length !== n) throw new VolumeError('dims-mismatch', file, `the header gives ${dims.join('×')} voxels but ${data.length} were decoded`)
  return { dims, spacing, origin, direction, data, meta: { sourcePath: file } }
}

/** Narrow integer data to Int16Array when it fits (CT in HU), keep uint8 labels, else Float32Array. */
export function narrowVoxels(data: VoxelArray): VoxelArray {
  if (data instanceof Uint8Array || data instanceof Int16Array || data instanceof Float32Array) return data
  const isFloat = data instanceof Float64Array
  let min = Infinity
  let max = -Infinity
  let integral = true
  for (let i = 0; i < data.length; i++) {
    const v = data[i]
    if (v < min) min = v
    if (v > max) max = v
    if (isFloat && integral && v !== Math.round(v)) integral = false
  }
  if (integral && min >= -32768 && max <= 32767) return Int16Array.from(data as ArrayLike<number>)
  return Float32Array.from(data as ArrayLike<number>)
}

/**
 * An itk-wasm error in words: its pipelines throw a bare number (the address of a C++ exception)
 * for what GDCM or ITK's readers reject, which tells the user nothing.
 */
export function itkErrorText(e: unknown): string {
  const text = (e instanceof Error ? e.message : typeof e === 'string' ? e : jsonOf(e)).split('\n')[0].trim()
  return /^\d*$/.test(text) ? 'the reader gave no reason' : text
}

function jsonOf(e: unknown): string {
  try {
    return JSON.stringify(e)?.slice(0, 200) ?? String(e)
  } catch {
    return String(e)
  }
}
