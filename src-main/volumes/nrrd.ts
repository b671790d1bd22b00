/**
 * NRRD: read through itk-wasm (all encodings, detached data), write by hand so that we control
 * the key/value fields Slicer reads from .seg.nrrd files and keep geometry at full double precision.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs'
import { dirname, isAbsolute, join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { VolumeError, checkSize, statInput } from './errors.js'
import { checkRegularFile, realInputPath } from './input.js'
import { column } from '../../src-shared/geometry.js'
import { itkErrorText, narrowVoxels, volumeFromItkImage } from './itk.js'
import type { Volume } from '../../src-shared/volume.js'
import { writeFileAtomic } from '../util/atomic-write.js'

export async function readItkFile(file: string, formatName: string): Promise<Volume> {
  statInput(file)
  // fstat on the open file: a FIFO or device given to itk-wasm would block or be read forever.
  const size = checkRegularFile(file)
  if (size === 0) throw new VolumeError('empty-file', file, 'the file is empty (0 bytes)')
  // before itk-wasm allocates what the header claims: a huge or malformed size gets its own message
  const header = headerSizes(file)
  if (header) checkSize(file, header.dims, header.bytesPerVoxel)
  // loaded on first use: itk-wasm costs every command's startup otherwise (issue 15)
  const { readImageNode } = await import('@itk-wasm/image-io')
  let img
  try {
    // itk-wasm mounts the file's folder by name (WASI): it needs the real absolute path.
    img = await readImageNode(realInputPath(file))
  } catch (e) {
    throw new VolumeError('bad-format', file, `this ${formatName} file could not be read: it is damaged, truncated or not a ${formatName} image (${itkErrorText(e)})`)
  }
  const vol = volumeFromItkImage(file, img)
  checkItkSpacing(file, vol, header?.spacing)
  vol.data = narrowVoxels(vol.data)
  return vol
}

/**
 * ITK reads a space direction it cannot represent quietly: "none" or a length that overflows came
 * back as 1 mm. The header's spacing must be the one read. (Axes that are not perpendicular are
 * refused for every format, in read.ts.)
 */
function checkItkSpacing(file: string, vol: Volume, headerSpacing: number[] | undefined): void {
  const off = headerSpacing?.findIndex((s, i) => !(Math.abs(s - vol.spacing[i]) <= 1e-6 * Math.max(1, s)))
  if (headerSpacing && off !== undefined && off >= 0) {
    throw new VolumeError('bad-spacing', file, `the header's space direction for axis ${off + 1} gives a voxel spacing of ${headerSpacing[off]} mm, which ITK reads as ${vol.spacing[off]}: the geometry cannot be trusted`)
  }
}

const HEADER_BYTES = 64 * 1024
const BYTES_PER_TYPE: Array<[RegExp, number]> = [
  // NRRD's type names (all its spellings) and MetaImage's ElementType
  [/^(signed char|int8(_t)?|uchar|unsigned char|uint8(_t)?|MET_U?CHAR)$/i, 1],
  [/^((signed )?short( int)?|int16(_t)?|ushort|unsigned short( int)?|uint16(_t)?|MET_U?SHORT)$/i, 2],
  [/^((signed )?int|int32(_t)?|uint|unsigned int|uint32(_t)?|float|MET_U?INT|MET_FLOAT)$/i, 4],
  [/^(longlong|(signed )?long long( int)?|int64(_t)?|ulonglong|unsigned long long( int)?|uint64(_t)?|double|MET_U?LONG_LONG|MET_DOUBLE)$/i, 8],
]

/**
 * The voxel grid an NRRD or MetaImage header declares (sizes / DimSize, type / ElementType, channels),
 * read from the file's first 64 KiB; null when the header is not recognised (itk-wasm then decides).
 * A size that is not a positive integer is a VolumeError naming the field.
 */
export function headerSizes(file: string): { dims: number[]; bytesPerVoxel: number; spacing?: number[] } | null {
  const buf = Buffer.alloc(HEADER_BYTES)
  const fd = openSync(file, 'r')
  let n: number
  try {
    n = readSync(fd, buf, 0, HEADER_BYTES, 0)
  } finally {
    closeSync(fd)
  }
  const text = buf.subarray(0, n).toString('latin1')
  const nrrd = text.startsWith('NRRD000')
  const field = (re: RegExp) => re.exec(text)?.[1]?.trim()
  const sizes = nrrd ? field(/^sizes:\s*(.*)$/m) : field(/^DimSize\s*=\s*(.*)$/m)
  if (sizes === undefined) return null
  const name = nrrd ? 'sizes' : 'DimSize'
  const dims = sizes.split(/\s+/).map(Number)
  if (dims.length === 0 || dims.some((d) => !Number.isSafeInteger(d) || d < 1)) {
    throw new VolumeError('bad-format', file, `the header's ${name} "${sizes}" is not a list of positive whole numbers`)
  }
  const type = (nrrd ? field(/^type:\s*(.*)$/m) : field(/^ElementType\s*=\s*(.*)$/m)) ?? ''
  const channels = nrrd ? 1 : Number(field(/^ElementNumberOfChannels\s*=\s*(\d+)/m) ?? 1)
  const known = BYTES_PER_TYPE.find(([re]) => re.test(type))?.[1]
  // an unknown type is sized as the largest for the memory check, and its data file is not sized
  const bytes = known ?? 8
  const directions = nrrd ? field(/^space directions:\s*(.*)$/m) : undefined
  const spacing = directions !== undefined ? nrrdSpacing(file, directions, dims.length) : undefined
  const dataFile = nrrd ? field(/^data ?file:\s*(.*)$/m) : field(/^ElementDataFile\s*=\s*(.*)$/m)
  if (dataFile !== undefined) {
    // raw data is dims x bytes long; compressed, skipped or listed data cannot be sized from here
    const raw = nrrd ? /^raw$/i.test(field(/^encoding:\s*(.*)$/m) ?? '') && !/^(byte|line) ?skip:/m.test(text) : !/^CompressedData\s*=\s*True/im.test(text) && !/^HeaderSize\s*=/m.test(text)
    checkDataFile(file, dataFile, raw && known !== undefined ? dims.reduce((a, b) => a * b, 1) * known * channels : undefined)
  }
  return { dims, bytesPerVoxel: bytes * channels, ...(spacing ? { spacing } : {}) }
}

/**
 * A detached header (.nhdr, .mhd) names the file that holds its voxels: a missing, unreadable or
 * short one gets its own words (ITK only says it failed). One file only: NRRD's `LIST` and
 * numbered patterns are left to ITK.
 */
function checkDataFile(file: string, name: string, rawBytes: number | undefined): void {
  if (/^(LOCAL|LIST)$/i.test(name) || /%\d*d/.test(name) || name.includes(' ')) return
  const path = isAbsolute(name) ? name : join(dirname(file), name)
  let st
  try {
    st = statSync(path)
  } catch {
    throw new VolumeError('not-found', file, `the header's voxel data file "${name}" was not found (looked for ${path}): a detached header needs its data file`)
  }
  if (!st.isFile()) throw new VolumeError('not-regular-file', file, `the header's voxel data file "${name}" is not a regular file`)
  if (rawBytes !== undefined && st.size < rawBytes) {
    throw new VolumeError('truncated', file, `the header's voxel data file "${name}" holds ${st.size} bytes but the header needs ${rawBytes}: it is incomplete`)
  }
}

/**
 * The voxel spacing NRRD's `space directions` give (each axis' vector length). An image axis
 * without one ("none") or with one that is not a finite, non-zero vector has no spacing to trust.
 */
function nrrdSpacing(file: string, field: string, axes: number): number[] | undefined {
  const tokens = field.match(/none|\([^)]*\)/g) ?? []
  if (tokens.length !== axes) throw new VolumeError('bad-geometry', file, `the header's space directions "${field}" give ${tokens.length} axes for an image of ${axes}`)
  // "none" marks a non-spatial axis (a 4-D file's list of segments); a 2-D or 3-D image has none
  if (axes > 3) return undefined
  return tokens.map((t, i) => {
    if (t === 'none') throw new VolumeError('bad-geometry', file, `the header gives image axis ${i + 1} no space direction ("none"), so its voxel spacing is unknown`)
    const v = t.slice(1, -1).split(',').map(Number)
    const length = Math.hypot(...v)
    if (!v.every(Number.isFinite) || !(length > 0) || !Number.isFinite(length)) {
      throw new VolumeError('bad-geometry', file, `the header's space direction for image axis ${i + 1} is ${t}: it must be a vector of finite numbers, not of length zero`)
    }
    return length
  })
}

export const readNrrd = (file: string) => readItkFile(file, 'NRRD')
export const readMetaImage = (file: string) => readItkFile(file, 'MetaImage')

const NRRD_TYPES = new Map<string, string>([
  ['Uint8Array', 'uchar'],
  ['Int8Array', 'signed char'],
  ['Int16Array', 'short'],
  ['Uint16Array', 'ushort'],
  ['Int32Array', 'int'],
  ['Uint32Array', 'uint'],
  ['Float32Array', 'float'],
  ['Float64Array', 'double'],
])

const fmt = (v: number) => (Object.is(v, -0) ? '0' : String(v))

/** Encode as a gzip NRRD in LPS. `fields` become `key:=value` lines (Slicer's segment metadata). */
export function encodeNrrd(vol: Volume, fields: Record<string, string> = {}): Buffer {
  const type = NRRD_TYPES.get(vol.data.constructor.name)
  if (!type) throw new Error(`cannot write ${vol.data.constructor.name} as NRRD`)
  const dirs = [0, 1, 2].map((j) => `(${column(vol.direction, j).map((c) => fmt(c * vol.spacing[j])).join(',')})`)
  const lines = [
    'NRRD0004',
    '# Written by SCN Studio',
    `type: ${type}`,
    'dimension: 3',
    'space: left-posterior-superior',
    `sizes: ${vol.dims.join(' ')}`,
    `space directions: ${dirs.join(' ')}`,
    'kinds: domain domain domain',
    'endian: little',
    'encoding: gzip',
    `space origin: (${vol.origin.map(fmt).join(',')})`,
    ...Object.entries(fields).map(([k, v]) => `${k}:=${v.replace(/\n/g, ' ')}`),
  ]
  const body = gzipSync(Buffer.from(vol.data.buffer, vol.data.byteOffset, vol.data.byteLength), { level: 1 })
  return Buffer.concat([Buffer.from(lines.join('\n') + '\n\n', 'latin1'), body])
}

export async function writeNrrd(vol: Volume, file: string, fields: Record<string, string> = {}): Promise<void> {
  await writeFileAtomic(file, encodeNrrd(vol, fields))
}
