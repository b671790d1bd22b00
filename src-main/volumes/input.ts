/**
 * How user-given input files are located and opened. Two rules, both from probing with hostile
 * input (issue 18):
 * - paths are resolved once, at the boundary (CLI argument, API call), so every reader and every
 *   tool below it (itk-wasm mounts the *directory* of each file it reads) sees absolute paths;
 * - only regular files are read: a FIFO named .dcm would block the read (and a host's event loop)
 *   forever, a link to /dev/zero would be read until memory runs out. Files are opened with
 *   O_NONBLOCK, so even opening a FIFO returns at once, and checked with fstat on the open handle.
 */
import { closeSync, constants, fstatSync, openSync, readSync, realpathSync, type Stats } from 'node:fs'
import { resolve } from 'node:path'
import { constants as bufferConstants } from 'node:buffer'
import { VolumeError, maxVoxels } from './errors.js'

/** The absolute form of a path a user typed, relative to the working directory it was typed in. */
export function resolveInputPath(path: string, cwd: string = process.cwd()): string {
  return resolve(cwd, path)
}

/**
 * The real absolute path of a file (symlinks followed). For tools that sandbox file access to the
 * folders they mount (itk-wasm under WASI): a link into another folder is not readable there.
 */
export function realInputPath(path: string): string {
  try {
    return realpathSync(resolve(path))
  } catch {
    throw new VolumeError('not-found', path, 'the file does not exist or cannot be read')
  }
}

/** Largest single input file we read into memory, in bytes. Overridable like maxVoxels. */
export function maxInputBytes(): number {
  const env = Number(process.env.SCN_STUDIO_MAX_FILE_BYTES)
  if (Number.isFinite(env) && env > 0) return env
  // 8 bytes per voxel (float64) for the largest volume we allocate, plus room for headers.
  return Math.min(bufferConstants.MAX_LENGTH, maxVoxels() * 8 + 64 * 2 ** 20)
}

function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a folder'
  if (st.isFIFO()) return 'a FIFO (named pipe)'
  if (st.isCharacterDevice()) return 'a character device'
  if (st.isBlockDevice()) return 'a block device'
  if (st.isSocket()) return 'a socket'
  return 'not a plain file'
}

/** Open `file` without blocking and check that it is a regular file within the size limit. */
function openRegular(file: string, maxBytes: number): { fd: number; size: number } {
  let fd: number
  try {
    // O_NONBLOCK: opening a FIFO for reading otherwise waits for a writer, forever.
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'EISDIR') throw new VolumeError('not-regular-file', file, 'not a regular file (it is a folder)')
    throw new VolumeError('not-found', file, 'the file does not exist or cannot be read')
  }
  let st: Stats
  try {
    st = fstatSync(fd)
  } catch {
    closeSync(fd)
    throw new VolumeError('not-found', file, 'the file does not exist or cannot be read')
  }
  if (!st.isFile()) {
    closeSync(fd)
    throw new VolumeError('not-regular-file', file, `not a regular file (it is ${kindOf(st)}): SCN Studio reads volumes only from regular files`)
  }
  if (st.size > maxBytes) {
    closeSync(fd)
    throw new VolumeError(
      'too-large',
      file,
      `the file is too large to open: ${(st.size / 2 ** 30).toFixed(1)} GiB (limit ${(maxBytes / 2 ** 30).toFixed(1)} GiB, SCN_STUDIO_MAX_FILE_BYTES)`,
    )
  }
  return { fd, size: st.size }
}

/** Check, without reading, that `file` is a regular file within the size limit (before handing it to a tool). */
export function checkRegularFile(file: string, maxBytes = maxInputBytes()): number {
  const { fd, size } = openRegular(file, maxBytes)
  closeSync(fd)
  return size
}

/**
 * The bytes of a regular file (the size fstat gave when it was opened; a file that grows while we
 * read is not followed). Refuses FIFOs, devices, sockets and folders at once, naming the file.
 */
export function readRegularFile(file: string, maxBytes = maxInputBytes()): Buffer {
  const { fd, size } = openRegular(file, maxBytes)
  try {
    const buf = Buffer.allocUnsafe(size)
    let got = 0
    while (got < size) {
      const n = readSync(fd, buf, got, size - got, got)
      if (n === 0) break // the file shrank while we read it
      got += n
    }
    return got === size ? buf : buf.subarray(0, got)
  } finally {
    closeSync(fd)
  }
}
