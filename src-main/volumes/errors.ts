/**
 * Typed errors for everything a user can feed us. The message always starts with the file (or
 * folder) and then says the problem in plain words, because it is shown to the user as is.
 */
import { statSync, type Stats } from 'node:fs'

export type VolumeErrorCode =
  | 'not-found'
  | 'empty-file'
  | 'truncated'
  | 'bad-format'
  | 'unsupported'
  | 'dims-mismatch'
  | 'bad-spacing'
  | 'bad-geometry'
  | 'missing-slice'
  | 'duplicate-slice'
  | 'uneven-spacing'
  | 'wrong-modality'
  | 'no-pixel-data'
  | 'multiple-series'
  | 'unknown-series'
  | 'no-dicom'
  | 'too-large'
  | 'not-labels'
  | 'not-regular-file'

export class VolumeError extends Error {
  readonly code: VolumeErrorCode
  readonly file: string
  constructor(code: VolumeErrorCode, file: string, problem: string) {
    super(`${file}: ${problem}`)
    this.name = 'VolumeError'
    this.code = code
    this.file = file
  }
}

/**
 * statSync of a path the user gave us, or the not-found VolumeError naming it (`what`: "file",
 * "folder", "file or folder"): every reader starts with this check.
 */
export function statInput(path: string, what = 'file'): Stats {
  try {
    return statSync(path)
  } catch {
    throw new VolumeError('not-found', path, `the ${what} does not exist or cannot be read`)
  }
}

/** Largest volume we agree to allocate, in voxels. Overridable for tests and big machines. */
export function maxVoxels(): number {
  const env = Number(process.env.SCN_STUDIO_MAX_VOXELS)
  return Number.isFinite(env) && env > 0 ? env : 1024 * 1024 * 1024 // 1 Gi voxels = 2 GiB of int16
}

export function checkSize(file: string, dims: number[], bytesPerVoxel: number): void {
  const n = dims.reduce((a, b) => a * b, 1)
  if (n > maxVoxels()) {
    const gib = (n * bytesPerVoxel) / 2 ** 30
    throw new VolumeError(
      'too-large',
      file,
      `the volume is too large to open: ${dims.join('×')} voxels would need ${gib.toFixed(1)} GiB of memory (limit ${maxVoxels()} voxels)`,
    )
  }
}
