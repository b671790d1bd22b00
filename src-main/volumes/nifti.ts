/**
 * NIfTI-1 and NIfTI-2 (.nii, .nii.gz) reader and writer.
 *
 * Hand-written on purpose: the format is small, and we need (a) nibabel's geometry rule — sform when
 * sform_code > 0, else qform, else pixdim — which ITK does not follow, and (b) precise messages
 * for every way a file can be broken.
 */
import { constants as zlibConstants, gunzipSync, gzipSync } from 'node:zlib'
import { VolumeError, checkSize } from './errors.js'
import { readRegularFile } from './input.js'
import { geometryFromAffine, indexToWorldAffine, mat3Det, type Affine } from '../../src-shared/geometry.js'
import type { Geometry, Mat3, Vec3, Volume, VoxelArray } from '../../src-shared/volume.js'
import { writeFileAtomic } from '../util/atomic-write.js'

interface DataType {
  code: number
  bytes: number
  name: string
  get: (v: DataView, off: number, le: boolean) => number
}

const DATATYPES: DataType[] = [
  { code: 2, bytes: 1, name: 'uint8', get: (v, o) => v.getUint8(o) },
  { code: 256, bytes: 1, name: 'int8', get: (v, o) => v.getInt8(o) },
  { code: 4, bytes: 2, name: 'int16', get: (v, o, le) => v.getInt16(o, le) },
  { code: 512, bytes: 2, name: 'uint16', get: (v, o, le) => v.getUint16(o, le) },
  { code: 8, bytes: 4, name: 'int32', get: (v, o, le) => v.getInt32(o, le) },
  { code: 768, bytes: 4, name: 'uint32', get: (v, o, le) => v.getUint32(o, le) },
  { code: 16, bytes: 4, name: 'float32', get: (v, o, le) => v.getFloat32(o, le) },
  { code: 64, bytes: 8, name: 'float64', get: (v, o, le) => v.getFloat64(o, le) },
]

const isGzip = (raw: Buffer) => raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b

function gzipError(file: string, e: unknown): VolumeError {
  const msg = String((e as Error).message)
  if (/unexpected end|incomplete|truncated/i.test(msg)) {
    return new VolumeError('truncated', file, 'the gzip stream ends early: the file is incomplete (was the download or copy interrupted?)')
  }
  return new VolumeError('bad-format', file, `the gzip data is damaged (${msg})`)
}

/**
 * The first bytes of a gzip stream (at least the NIfTI-2 header when the data has that many),
 * inflating only a small prefix of the compressed data: the header must be read before we know
 * how much the whole stream is allowed to inflate to.
 */
function inflateHead(file: string, raw: Buffer): Buffer {
  // Deflate expands at most ~1032:1, so a 4 KiB prefix inflates to at most ~4 MiB.
  for (const prefix of [4096, 65536]) {
    let head: Buffer
    try {
      head = gunzipSync(raw.subarray(0, prefix), { finishFlush: zlibConstants.Z_SYNC_FLUSH })
    } catch (e) {
      throw gzipError(file, e)
    }
    if (head.length >= 544 || prefix >= raw.length) return head
  }
  throw new VolumeError('bad-format', file, 'the gzip data starts with more than 64 KiB that inflate to less than a NIfTI header')
}

/**
 * Inflate the whole stream, refusing it as soon as it inflates to more than `limit` bytes: a
 * small .nii.gz can inflate to gigabytes (a gzip bomb or a damaged file), and the header has
 * already told us how many bytes the image needs.
 */
function inflateBounded(file: string, raw: Buffer, limit: number, promised: string): Buffer {
  try {
    // One output chunk of the size the header promises (zlib's default is 16 KiB chunks, concatenated
    // at the end: ten thousand native calls and a second CT-sized copy). Deflate expands at most
    // ~1032:1, so a header that lies cannot make us reserve more than the data could ever give.
    // A 512x512x300 CT inflates in ~0.6 s instead of ~0.9 s (issue 15).
    const chunkSize = Math.max(64 * 1024, Math.min(limit, raw.length * 1032 + 64 * 1024))
    return gunzipSync(raw, { maxOutputLength: limit, chunkSize })
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new VolumeError(
        'too-large',
        file,
        `the gzip data inflates to more than the ${limit} bytes the header promises (${promised}); refused (a damaged file or a decompression bomb)`,
      )
    }
    throw gzipError(file, e)
  }
}

interface Header {
  version: 1 | 2
  le: boolean
  dims: number[]
  datatype: number
  pixdim: number[]
  voxOffset: number
  sclSlope: number
  sclInter: number
  qformCode: number
  sformCode: number
  quatern: [number, number, number]
  qoffset: Vec3
  srow: number[]
  descrip: string
}

function parseHeader(file: string, buf: Buffer): Header {
  if (buf.length < 348) throw new VolumeError('truncated', file, `the file is only ${buf.length} bytes, too short for a NIfTI header (348 bytes)`)
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  const s1le = view.getInt32(0, true)
  const s1be = view.getInt32(0, false)
  let version: 1 | 2
  let le: boolean
  if (s1le === 348 || s1be === 348) {
    version = 1
    le = s1le === 348
  } else if (s1le === 540 || s1be === 540) {
    version = 2
    le = s1le === 540
  } else {
    throw new VolumeError('bad-format', file, 'this is not a NIfTI file (the header size field is neither 348 nor 540)')
  }
  if (version === 1) {
    const magic = buf.toString('latin1', 344, 347)
    if (magic === 'ni1') throw new VolumeError('unsupported', file, 'this is a two-file NIfTI (.hdr/.img); convert it to a single .nii or .nii.gz')
    if (magic !== 'n+1') throw new VolumeError('bad-format', file, `this is not a NIfTI-1 file (magic "${magic}" instead of "n+1")`)
    const dims = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => view.getInt16(40 + 2 * i, le))
    const pixdim = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => view.getFloat32(76 + 4 * i, le))
    return {
      version, le, dims, pixdim,
      datatype: view.getInt16(70, le),
      voxOffset: view.getFloat32(108, le),
      sclSlope: view.getFloat32(112, le),
      sclInter: view.getFloat32(116, le),
      qformCode: view.getInt16(252, le),
      sformCode: view.getInt16(254, le),
      quatern: [view.getFloat32(256, le), view.getFloat32(260, le), view.getFloat32(264, le)],
      qoffset: [view.getFloat32(268, le), view.getFloat32(272, le), view.getFloat32(276, le)],
      srow: Array.from({ length: 12 }, (_, i) => view.getFloat32(280 + 4 * i, le)),
      descrip: buf.toString('latin1', 148, 228).replace(/\0.*$/s, ''),
    }
  }
  if (buf.length < 540) throw new VolumeError('truncated', file, `the file is only ${buf.length} bytes, too short for a NIfTI-2 header (540 bytes)`)
  const magic = buf.toString('latin1', 4, 7)
  if (magic !== 'n+2') throw new VolumeError('bad-format', file, `this is not a single-file NIfTI-2 (magic "${magic}" instead of "n+2")`)
  const dims = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => Number(view.getBigInt64(16 + 8 * i, le)))
  const pixdim = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => view.getFloat64(104 + 8 * i, le))
  return {
    version, le, dims, pixdim,
    datatype: view.getInt16(12, le),
    voxOffset: Number(view.getBigInt64(168, le)),
    sclSlope: view.getFloat64(176, le),
    sclInter: view.getFloat64(184, le),
    qformCode: view.getInt32(344, le),
    sformCode: view.getInt32(348, le),
    quatern: [view.getFloat64(352, le), view.getFloat64(360, le), view.getFloat64(368, le)],
    qoffset: [view.getFloat64(376, le), view.getFloat64(384, le), view.getFloat64(392, le)],
    srow: Array.from({ length: 12 }, (_, i) => view.getFloat64(400 + 8 * i, le)),
    descrip: buf.toString('latin1', 240, 320).replace(/\0.*$/s, ''),
  }
}

/** RAS 3x4 affine from the qform quaternion (NIfTI-1 spec, as nibabel does). */
function qformAffine(h: Header): Affine {
  const [b, c, d] = h.quatern
  const a = Math.sqrt(Math.max(0, 1 - (b * b + c * c + d * d)))
  const R = [
    a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c),
    2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b),
    2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - c * c - b * b,
  ]
  const qfac = h.pixdim[0] < 0 ? -1 : 1
  // a negative pixdim is a writer's mistake, not a flip (the flip is qfac's): as nibabel, its size
  const s = [Math.abs(h.pixdim[1]), Math.abs(h.pixdim[2]), Math.abs(h.pixdim[3]) * qfac]
  return [
    R[0] * s[0], R[1] * s[1], R[2] * s[2], h.qoffset[0],
    R[3] * s[0], R[4] * s[1], R[5] * s[2], h.qoffset[1],
    R[6] * s[0], R[7] * s[1], R[8] * s[2], h.qoffset[2],
  ]
}

function rasToLps(a: Affine): Affine {
  return [-a[0], -a[1], -a[2], -a[3], -a[4], -a[5], -a[6], -a[7], a[8], a[9], a[10], a[11]]
}

const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

export function readNifti(file: string): Volume {
  const raw = readRegularFile(file)
  if (raw.length === 0) throw new VolumeError('empty-file', file, 'the file is empty (0 bytes)')
  const gz = isGzip(raw)
  const h = parseHeader(file, gz ? inflateHead(file, raw) : raw)

  const nd = h.dims[0]
  if (nd < 1 || nd > 7) throw new VolumeError('bad-format', file, `the header gives ${nd} dimensions; a NIfTI image has 1 to 7`)
  const dims = [1, 2, 3].map((i) => (i <= nd ? h.dims[i] : 1)) as Vec3
  const extra = h.dims.slice(4, nd + 1).reduce((a, b) => a * Math.max(1, b), 1)
  if (dims.some((d) => !Number.isInteger(d) || d < 1)) throw new VolumeError('bad-format', file, `the header gives invalid image dimensions ${dims.join('×')}`)
  if (extra > 1) throw new VolumeError('unsupported', file, `this is a ${nd}-D image (${h.dims.slice(1, nd + 1).join('×')}); SCN Studio opens single 3-D volumes`)

  const dt = DATATYPES.find((d) => d.code === h.datatype)
  if (!dt) throw new VolumeError('unsupported', file, `NIfTI data type ${h.datatype} is not supported (use int8/16/32, uint8/16/32, float32 or float64)`)
  checkSize(file, dims, Math.max(2, dt.bytes))

  // some writers store a negative pixdim beside a valid sform; nibabel reads its size, so do we
  const spacing = [h.pixdim[1], h.pixdim[2], h.pixdim[3]].map(Math.abs)
  const validSpacing = (v: number) => Number.isFinite(v) && v > 0
  if (!spacing.every(validSpacing)) {
    throw new VolumeError('bad-spacing', file, `the voxel spacing is invalid (pixdim ${spacing.map((v) => String(v)).join(', ')}): every spacing must be a positive number`)
  }

  let affine: Affine
  if (h.sformCode > 0) affine = h.srow as Affine
  else if (h.qformCode > 0) affine = qformAffine(h)
  else affine = [spacing[0], 0, 0, 0, 0, spacing[1], 0, 0, 0, 0, spacing[2], 0]
  if (!affine.every(Number.isFinite)) throw new VolumeError('bad-geometry', file, 'the orientation (sform/qform) contains values that are not numbers')
  const orientationWarning =
    h.sformCode > 0 && h.qformCode > 0
      ? formsDisagree(dims, affine, qformAffine(h))
      : h.sformCode <= 0 && h.qformCode <= 0
        ? // as the NIfTI reference library (nifti1_io) and ITK read it; nibabel mirrors x instead
          'the file states no orientation (sform and qform codes 0): its axes were taken as x, y, z in scanner space, so left and right cannot be checked; labels written for it use that orientation'
        : undefined
  let geometry: Geometry
  try {
    geometry = geometryFromAffine(dims, rasToLps(affine))
  } catch (e) {
    throw new VolumeError('bad-geometry', file, `the orientation is unusable: ${(e as Error).message}`)
  }

  const n = dims[0] * dims[1] * dims[2]
  const headerBytes = h.version === 1 ? 352 : 544
  // vox_offset 0 means "unset" in some writers (nibabel reads it as the minimum); anything else
  // below the header, or not a whole number, would read header bytes as voxels.
  if (!Number.isFinite(h.voxOffset) || !Number.isInteger(h.voxOffset) || h.voxOffset < 0 || (h.voxOffset > 0 && h.voxOffset < headerBytes)) {
    throw new VolumeError('bad-format', file, `the header field vox_offset is ${h.voxOffset}: the image data must start at a whole byte offset of at least ${headerBytes} (after the header)`)
  }
  const voxOffset = Math.max(h.voxOffset, headerBytes)
  const need = voxOffset + n * dt.bytes
  // Bounded inflate: what the header promises plus a little slack for writers that pad the end.
  const buf = gz ? inflateBounded(file, raw, need + Math.max(2 ** 20, Math.ceil(need / 100)), `${headerBytes}-byte header, vox_offset ${voxOffset} and ${dims.join('×')} ${dt.name} voxels`) : raw
  if (buf.length < need) {
    throw new VolumeError(
      'dims-mismatch',
      file,
      `the header promises ${dims.join('×')} ${dt.name} voxels (${n * dt.bytes} bytes) but the file holds only ${Math.max(0, buf.length - voxOffset)} bytes of image data: it is truncated or its header is wrong`,
    )
  }

  const slope = h.sclSlope
  const inter = h.sclInter
  const scaled = Number.isFinite(slope) && slope !== 0 && (slope !== 1 || (Number.isFinite(inter) && inter !== 0))
  const integerScale = !scaled || (Number.isInteger(slope) && Number.isInteger(inter))
  const isIntType = dt.name !== 'float32' && dt.name !== 'float64'
  const view = new DataView(buf.buffer, buf.byteOffset + voxOffset, n * dt.bytes)

  // Fast path (issue 15): unscaled int16/uint8 in this machine's byte order, the usual CT and label
  // files, are copied as bytes (a memcpy) instead of converted voxel by voxel through a DataView
  // twice: a 512x512x300 CT reads in about half the time. The copy owns its buffer exactly
  // (callers transfer and send data.buffer).
  if (!scaled && h.le === HOST_LE && (dt.name === 'int16' || dt.name === 'uint8')) {
    const bytes = new Uint8Array(buf.buffer, buf.byteOffset + voxOffset, n * dt.bytes)
    const data = dt.name === 'int16' ? new Int16Array(n) : new Uint8Array(n)
    new Uint8Array(data.buffer).set(bytes)
    return { ...geometry, data, meta: { sourcePath: file, description: h.descrip || undefined, ...(orientationWarning ? { warnings: [`${file}: ${orientationWarning}`] } : {}) } }
  }

  // Pick the smallest faithful output type: uint8 stays uint8, integer data that fits int16 becomes
  // Int16Array (CT in HU), everything else Float32Array.
  let min = Infinity
  let max = -Infinity
  for (let i = 0; i < n; i++) {
    let v = dt.get(view, i * dt.bytes, h.le)
    if (scaled) v = v * slope + inter
    if (v < min) min = v
    if (v > max) max = v
  }
  let data: VoxelArray
  if (dt.name === 'uint8' && !scaled) data = new Uint8Array(n)
  else if (isIntType && integerScale && min >= -32768 && max <= 32767) data = new Int16Array(n)
  else data = new Float32Array(n)
  for (let i = 0; i < n; i++) {
    let v = dt.get(view, i * dt.bytes, h.le)
    if (scaled) v = v * slope + inter
    data[i] = v
  }
  return { ...geometry, data, meta: { sourcePath: file, description: h.descrip || undefined, ...(orientationWarning ? { warnings: [`${file}: ${orientationWarning}`] } : {}) } }
}

/**
 * A header with both orientations set whose sform and qform put the image in different places:
 * we use the sform (nibabel's rule), but a viewer that reads the qform (ITK in some versions) shows
 * the CT, and every label written for it, elsewhere. Worth saying when a corner moves by over 1 mm.
 */
function formsDisagree(dims: number[], sform: Affine, qform: Affine): string | undefined {
  let worst = 0
  for (const ci of [0, dims[0] - 1])
    for (const cj of [0, dims[1] - 1])
      for (const ck of [0, dims[2] - 1]) {
        let d2 = 0
        for (let r = 0; r < 3; r++) {
          const a = sform[r * 4] * ci + sform[r * 4 + 1] * cj + sform[r * 4 + 2] * ck + sform[r * 4 + 3]
          const b = qform[r * 4] * ci + qform[r * 4 + 1] * cj + qform[r * 4 + 2] * ck + qform[r * 4 + 3]
          d2 += (a - b) ** 2
        }
        worst = Math.max(worst, Math.sqrt(d2))
      }
  if (!(worst > 1)) return undefined
  return `the header's two orientations (sform and qform) disagree by up to ${worst.toFixed(1)} mm; SCN Studio uses the sform (as nibabel does), and writes labels with both set to it. A viewer that reads the qform will show this CT elsewhere: check the orientation before trusting the labels`
}

/** NIfTI quaternion parameters for a direction matrix (RAS), following nifti_mat44_to_quatern. */
function quaternFromRas(r: Mat3): { b: number; c: number; d: number; qfac: number } {
  let m = [...r]
  let qfac = 1
  if (mat3Det(r as Mat3) < 0) {
    qfac = -1
    m = [m[0], m[1], -m[2], m[3], m[4], -m[5], m[6], m[7], -m[8]]
  }
  const [r11, r12, r13, r21, r22, r23, r31, r32, r33] = m
  let a = r11 + r22 + r33 + 1
  let b: number, c: number, d: number
  if (a > 0.5) {
    a = 0.5 * Math.sqrt(a)
    b = (0.25 * (r32 - r23)) / a
    c = (0.25 * (r13 - r31)) / a
    d = (0.25 * (r21 - r12)) / a
  } else {
    const xd = 1 + r11 - (r22 + r33)
    const yd = 1 + r22 - (r11 + r33)
    const zd = 1 + r33 - (r11 + r22)
    if (xd > 1) {
      b = 0.5 * Math.sqrt(xd); c = (0.25 * (r12 + r21)) / b; d = (0.25 * (r13 + r31)) / b; a = (0.25 * (r32 - r23)) / b
    } else if (yd > 1) {
      c = 0.5 * Math.sqrt(yd); b = (0.25 * (r12 + r21)) / c; d = (0.25 * (r23 + r32)) / c; a = (0.25 * (r13 - r31)) / c
    } else {
      d = 0.5 * Math.sqrt(zd); b = (0.25 * (r13 + r31)) / d; c = (0.25 * (r23 + r32)) / d; a = (0.25 * (r21 - r12)) / d
    }
    if (a < 0) { b = -b; c = -c; d = -d }
  }
  return { b, c, d, qfac }
}

/** Encode a volume as NIfTI-1 bytes (gzip when `gzip`), with sform and qform both set (code 1, scanner). */
export function encodeNifti(vol: Volume, gzip = true): Buffer {
  const dt =
    vol.data instanceof Uint8Array ? DATATYPES[0]
      : vol.data instanceof Int16Array ? DATATYPES[2]
        : vol.data instanceof Uint16Array ? DATATYPES[3]
          : vol.data instanceof Int32Array ? DATATYPES[4]
            : DATATYPES[6]
  const n = vol.dims[0] * vol.dims[1] * vol.dims[2]
  const hdr = Buffer.alloc(352)
  const v = new DataView(hdr.buffer, hdr.byteOffset, hdr.byteLength)
  v.setInt32(0, 348, true)
  const dims = [3, vol.dims[0], vol.dims[1], vol.dims[2], 1, 1, 1, 1]
  dims.forEach((d, i) => v.setInt16(40 + 2 * i, d, true))
  v.setInt16(70, dt.code, true)
  v.setInt16(72, dt.bytes * 8, true)
  const a = indexToWorldAffine(vol)
  const ras: Affine = [-a[0], -a[1], -a[2], -a[3], -a[4], -a[5], -a[6], -a[7], a[8], a[9], a[10], a[11]]
  const dirRas: Mat3 = [
    -vol.direction[0], -vol.direction[1], -vol.direction[2],
    -vol.direction[3], -vol.direction[4], -vol.direction[5],
    vol.direction[6], vol.direction[7], vol.direction[8],
  ]
  const q = quaternFromRas(dirRas)
  const pixdim = [q.qfac, vol.spacing[0], vol.spacing[1], vol.spacing[2], 1, 1, 1, 1]
  pixdim.forEach((p, i) => v.setFloat32(76 + 4 * i, p, true))
  v.setFloat32(108, 352, true) // vox_offset
  v.setFloat32(112, 1, true) // scl_slope
  v.setFloat32(116, 0, true)
  hdr.write('SCN Studio', 148, 'latin1')
  v.setInt8(123, 2 | 8) // xyzt_units: mm, s
  v.setInt16(252, 1, true) // qform_code scanner
  v.setInt16(254, 1, true) // sform_code scanner
  v.setFloat32(256, q.b, true)
  v.setFloat32(260, q.c, true)
  v.setFloat32(264, q.d, true)
  v.setFloat32(268, ras[3], true)
  v.setFloat32(272, ras[7], true)
  v.setFloat32(276, ras[11], true)
  ras.forEach((x, i) => v.setFloat32(280 + 4 * i, x, true))
  hdr.write('n+1\0', 344, 'latin1')
  const data = Buffer.from(vol.data.buffer, vol.data.byteOffset, n * dt.bytes)
  if (!(vol.data instanceof Uint8Array || vol.data instanceof Int16Array || vol.data instanceof Uint16Array || vol.data instanceof Int32Array || vol.data instanceof Float32Array)) {
    const f = Float32Array.from(vol.data as ArrayLike<number>)
    const out = Buffer.concat([hdr, Buffer.from(f.buffer)])
    return gzip ? gzipSync(out, { level: 1 }) : out
  }
  const out = Buffer.concat([hdr, data])
  // Level 1: labels compress ~50x anyway and CT writes stay fast.
  return gzip ? gzipSync(out, { level: 1 }) : out
}

export async function writeNifti(vol: Volume, file: string): Promise<void> {
  // the name decides the bytes, whatever its case: other readers trust a .NII.GZ to be gzip
  await writeFileAtomic(file, encodeNifti(vol, file.toLowerCase().endsWith('.gz')))
}
