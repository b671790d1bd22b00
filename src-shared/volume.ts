/**
 * The one in-memory volume type of SCN Studio.
 *
 * Geometry follows the DICOM/ITK convention: patient coordinates are LPS (x to the patient's Left,
 * y to Posterior, z to Superior), `direction` is a row-major 3x3 matrix whose column j is the unit
 * vector of index axis j, and world = origin + direction * diag(spacing) * ijk.
 * Index order in `data` is x fastest (i), then y (j), then z (k). All affine math lives in geometry.ts.
 */
export type Vec3 = [number, number, number]
/** Row-major 3x3; column j is the LPS direction of index axis j. */
export type Mat3 = [number, number, number, number, number, number, number, number, number]

/** The file formats a CT is read from. */
export const VOLUME_FORMATS = ['nifti', 'nrrd', 'metaimage', 'dicom'] as const
export type VolumeFormat = (typeof VOLUME_FORMATS)[number]

export type VoxelArray = Int16Array | Uint8Array | Float32Array | Uint16Array | Int32Array | Int8Array | Uint32Array | Float64Array

export interface Geometry {
  /** [nx, ny, nz] */
  dims: Vec3
  /** millimetres per voxel along each index axis */
  spacing: Vec3
  /** LPS position (mm) of the centre of voxel (0,0,0) */
  origin: Vec3
  direction: Mat3
}

export interface VolumeMeta {
  /** DICOM modality when known (CT, MR, SEG, ...); NIfTI/NRRD files carry none */
  modality?: string
  seriesUid?: string
  description?: string
  /** the file or folder this volume was read from */
  sourcePath?: string
  /** what the reader noticed and the user must know (plain sentences; the engine reports them) */
  warnings?: string[]
}

export interface Volume<T extends VoxelArray = VoxelArray> extends Geometry {
  data: T
  meta: VolumeMeta
}

/** HU for voxels that hold no measurement (NaN/Inf voxels, outside a resampled slice): air. */
export const PAD_HU = -1024

export type CtVolume = Volume<Int16Array | Float32Array>
export type LabelVolume = Volume<Uint8Array>

export function voxelCount(dims: Vec3): number {
  return dims[0] * dims[1] * dims[2]
}

export function geometryOf(v: Geometry): Geometry {
  return {
    dims: [...v.dims] as Vec3,
    spacing: [...v.spacing] as Vec3,
    origin: [...v.origin] as Vec3,
    direction: [...v.direction] as Mat3,
  }
}

/** A new label volume on the exact grid of `reference`. */
export function createLabelVolume(reference: Geometry, meta: VolumeMeta = {}): LabelVolume {
  return { ...geometryOf(reference), data: new Uint8Array(voxelCount(reference.dims)), meta }
}

/**
 * How many voxels hold each value 0..255. Reads four labels per 32-bit word and skips words of
 * background, which is most of a labelmap: ~3x faster than counting voxel by voxel (~75 ms for
 * 512x512x300 on a laptop core; issue 15). Byte order does not matter for counting.
 */
export function countLabelValues(data: Uint8Array): Uint32Array {
  const counts = new Uint32Array(256)
  const head = Math.min(data.length, (4 - (data.byteOffset & 3)) & 3)
  for (let i = 0; i < head; i++) counts[data[i]]++
  const words = (data.length - head) >> 2
  const w = words > 0 ? new Uint32Array(data.buffer, data.byteOffset + head, words) : new Uint32Array(0)
  let zeros = 0
  for (let i = 0; i < words; i++) {
    const v = w[i]
    if (v === 0) {
      zeros += 4
      continue
    }
    counts[v & 255]++
    counts[(v >>> 8) & 255]++
    counts[(v >>> 16) & 255]++
    counts[v >>> 24]++
  }
  counts[0] += zeros
  for (let i = head + words * 4; i < data.length; i++) counts[data[i]]++
  return counts
}
