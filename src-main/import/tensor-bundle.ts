/**
 * TensorFlow tensor bundles (tensorflow/core/util/tensor_bundle), the format of a SavedModel's
 * variables/: `variables.index` is a LevelDB table (sstable.ts) from tensor name to a
 * BundleEntryProto {dtype 1, shape 2, shard_id 3, offset 4, size 5, crc32c 6 (fixed32, masked),
 * slices 7}; the empty key holds the BundleHeaderProto {num_shards 1, endianness 2, version 3}.
 * `variables.data-SSSSS-of-NNNNN` hold the tensors' bytes: numeric tensors raw little-endian;
 * string tensors as varint64 lengths, a masked CRC-32C of the lengths, then the bytes.
 */
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs'
import { join } from 'node:path'
import { crc32cExtend, unmaskCrc } from './crc32c.js'
import { ImportError } from './errors.js'
import { readFields, readPackedVarints, readVarint, utf8, WIRE, WireError } from './proto-wire.js'
import { readTable } from './sstable.js'

/** tensorflow/core/framework/types.proto: DataType -> name and bytes per element (0 = not fixed). */
export const TF_DTYPES: Record<number, { name: string; bytes: number }> = {
  1: { name: 'float32', bytes: 4 },
  2: { name: 'float64', bytes: 8 },
  3: { name: 'int32', bytes: 4 },
  4: { name: 'uint8', bytes: 1 },
  5: { name: 'int16', bytes: 2 },
  6: { name: 'int8', bytes: 1 },
  7: { name: 'string', bytes: 0 },
  9: { name: 'int64', bytes: 8 },
  10: { name: 'bool', bytes: 1 },
  14: { name: 'bfloat16', bytes: 2 },
  17: { name: 'uint16', bytes: 2 },
  19: { name: 'float16', bytes: 2 },
  22: { name: 'uint32', bytes: 4 },
  23: { name: 'uint64', bytes: 8 },
}

export interface BundleEntry {
  name: string
  dtype: number
  dtypeName: string
  shape: number[]
  shardId: number
  offset: number
  size: number
  /** unmasked CRC-32C of the tensor's bytes as written */
  crc32c: number
  /** partitioned variables carry slices; we do not support them (none in the FLARE21 models) */
  sliced: boolean
}

export interface BundleHeader {
  numShards: number
  endianness: 'little' | 'big'
  producer: number
}

export interface TensorBundle {
  /** the prefix: .../variables/variables */
  prefix: string
  indexFile: string
  header: BundleHeader
  /** entries in key order (header excluded) */
  entries: BundleEntry[]
  byName: Map<string, BundleEntry>
  dataFile(shard: number): string
}

export function dataFileName(prefix: string, shard: number, numShards: number): string {
  return `${prefix}.data-${String(shard).padStart(5, '0')}-of-${String(numShards).padStart(5, '0')}`
}

function parseHeader(file: string, bytes: Uint8Array): BundleHeader {
  let numShards = 0
  let endian = 0
  let producer = 0
  for (const f of readFields(bytes)) {
    if (f.field === 1 && f.wireType === WIRE.varint) numShards = f.num
    else if (f.field === 2 && f.wireType === WIRE.varint) endian = f.num
    else if (f.field === 3 && f.wireType === WIRE.bytes) {
      for (const v of readFields(f.bytes)) if (v.field === 1 && v.wireType === WIRE.varint) producer = v.num
    }
  }
  if (numShards < 1) throw new ImportError('corrupt', file, `the bundle header says ${numShards} data shards`)
  return { numShards, endianness: endian === 1 ? 'big' : 'little', producer }
}

function parseShape(bytes: Uint8Array): number[] {
  const dims: number[] = []
  for (const f of readFields(bytes)) {
    if (f.field === 2 && f.wireType === WIRE.bytes) {
      let size = 0
      for (const d of readFields(f.bytes)) if (d.field === 1 && d.wireType === WIRE.varint) size = d.num
      dims.push(size)
    } else if (f.field === 3 && f.wireType === WIRE.varint && f.num) {
      throw new WireError('the tensor shape has unknown rank')
    }
  }
  return dims
}

function parseEntry(file: string, name: string, bytes: Uint8Array): BundleEntry {
  const e: BundleEntry = { name, dtype: 0, dtypeName: '', shape: [], shardId: 0, offset: 0, size: 0, crc32c: 0, sliced: false }
  for (const f of readFields(bytes)) {
    switch (f.field) {
      case 1:
        e.dtype = f.num
        break
      case 2:
        e.shape = parseShape(f.bytes)
        break
      case 3:
        e.shardId = f.num
        break
      case 4:
        e.offset = f.num
        break
      case 5:
        e.size = f.num
        break
      case 6:
        e.crc32c = unmaskCrc(f.num)
        break
      case 7:
        e.sliced = true
        break
    }
  }
  const dt = TF_DTYPES[e.dtype]
  if (!dt) throw new ImportError('unknown-dtype', file, `tensor "${name}" has TensorFlow dtype ${e.dtype}, which SCN Studio cannot read`)
  e.dtypeName = dt.name
  if (dt.bytes) {
    const expect = e.shape.reduce((a, b) => a * b, 1) * dt.bytes
    if (!e.sliced && expect !== e.size) {
      throw new ImportError('corrupt', file, `tensor "${name}" (${dt.name} [${e.shape.join(',')}]) should take ${expect} bytes but its entry says ${e.size}`)
    }
  }
  return e
}

/**
 * Open a bundle by its prefix (".../variables/variables"), its index file, or the variables/
 * folder. Only the index is read here; data files are opened when tensors are read.
 */
export function openTensorBundle(path: string): TensorBundle {
  let prefix = path
  if (path.endsWith('.index')) prefix = path.slice(0, -'.index'.length)
  else if (existsSync(join(path, 'variables.index'))) prefix = join(path, 'variables')
  const indexFile = `${prefix}.index`
  if (!existsSync(indexFile)) throw new ImportError('not-found', indexFile, 'the tensor-bundle index (variables.index) is missing')
  const buf = new Uint8Array(readFileSync(indexFile))
  const table = readTable(indexFile, buf)
  let header: BundleHeader | undefined
  const entries: BundleEntry[] = []
  try {
    for (const { key, value } of table) {
      if (key.length === 0) header = parseHeader(indexFile, value)
      else entries.push(parseEntry(indexFile, utf8.decode(key), value))
    }
  } catch (e) {
    if (e instanceof WireError) throw new ImportError('corrupt', indexFile, `an entry is malformed (${e.message})`)
    throw e
  }
  if (!header) throw new ImportError('corrupt', indexFile, 'the bundle header (empty key) is missing: not a TensorFlow tensor bundle')
  if (header.endianness !== 'little') throw new ImportError('unsupported', indexFile, 'the bundle was written big-endian; only little-endian bundles are supported')
  for (const e of entries) {
    if (e.shardId >= header.numShards) throw new ImportError('corrupt', indexFile, `tensor "${e.name}" lives in shard ${e.shardId} of ${header.numShards}`)
  }
  const h = header
  return {
    prefix,
    indexFile,
    header: h,
    entries,
    byName: new Map(entries.map((e) => [e.name, e])),
    dataFile: (shard) => dataFileName(prefix, shard, h.numShards),
  }
}

export interface ReadOptions {
  /**
   * Verify each tensor's CRC-32C (default true). Tests that pair a real index with a data file
   * they write themselves turn it off: the real index holds the checksums of the real data.
   */
  verifyChecksums?: boolean
}

/** Reads tensors from the data shards: one open file per shard, only each tensor's own bytes. */
export class BundleReader {
  private fds = new Map<number, { fd: number; size: number; file: string }>()
  constructor(readonly bundle: TensorBundle, private readonly opts: ReadOptions = {}) {}

  private shard(id: number) {
    let s = this.fds.get(id)
    if (!s) {
      const file = this.bundle.dataFile(id)
      if (!existsSync(file)) {
        throw new ImportError('not-found', file, `the tensor data file is missing (the index ${this.bundle.indexFile} needs it; copy the whole variables/ folder)`)
      }
      const fd = openSync(file, 'r')
      s = { fd, size: fstatSync(fd).size, file }
      this.fds.set(id, s)
    }
    return s
  }

  /** The raw bytes of a tensor, bounds- and checksum-checked. */
  bytes(name: string): Uint8Array {
    const e = this.bundle.byName.get(name)
    if (!e) throw new ImportError('unknown-variable', this.bundle.indexFile, `no tensor named "${name}"`)
    if (e.sliced) throw new ImportError('unsupported', this.bundle.indexFile, `tensor "${name}" is a partitioned (sliced) variable, which is not supported`)
    const s = this.shard(e.shardId)
    if (e.offset + e.size > s.size) {
      throw new ImportError('truncated', s.file, `the data file is ${s.size} bytes but tensor "${name}" needs bytes ${e.offset}..${e.offset + e.size}: the file is cut short (re-copy it)`)
    }
    const out = new Uint8Array(e.size)
    let got = 0
    while (got < e.size) {
      const n = readSync(s.fd, out, got, e.size - got, e.offset + got)
      if (n <= 0) throw new ImportError('truncated', s.file, `reading tensor "${name}" stopped after ${got} of ${e.size} bytes`)
      got += n
    }
    if (this.opts.verifyChecksums !== false) {
      const crc = e.dtype === 7 ? stringTensorCrc(s.file, name, out, e.shape.reduce((a, c) => a * c, 1)) : crc32cExtend(0, out)
      if (crc !== e.crc32c) {
        throw new ImportError('checksum', s.file, `tensor "${name}" fails its CRC-32C check (index says ${e.crc32c.toString(16)}, data gives ${crc.toString(16)}): the data file is damaged or belongs to another index`)
      }
    }
    return out
  }

  /** A numeric tensor as float32 (float16/bfloat16/float64 converted), row-major in TF's shape. */
  float32(name: string): Float32Array {
    const e = this.bundle.byName.get(name)
    const b = this.bytes(name)
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength)
    switch (e!.dtype) {
      case 1:
        return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength))
      case 2: {
        const out = new Float32Array(b.length / 8)
        for (let i = 0; i < out.length; i++) out[i] = dv.getFloat64(8 * i, true)
        return out
      }
      case 19: {
        const out = new Float32Array(b.length / 2)
        for (let i = 0; i < out.length; i++) out[i] = halfToFloat(dv.getUint16(2 * i, true))
        return out
      }
      case 14: {
        const out = new Float32Array(b.length / 2)
        const u = new Uint32Array(out.buffer)
        for (let i = 0; i < out.length; i++) u[i] = dv.getUint16(2 * i, true) << 16
        return out
      }
      default:
        throw new ImportError('unsupported', this.bundle.indexFile, `tensor "${name}" is ${e!.dtypeName}, not a floating-point weight`)
    }
  }

  /** A DT_STRING tensor's elements. */
  strings(name: string): Uint8Array[] {
    const e = this.bundle.byName.get(name)!
    if (e.dtype !== 7) throw new ImportError('unsupported', this.bundle.indexFile, `tensor "${name}" is ${e.dtypeName}, not a string tensor`)
    const b = this.bytes(name)
    const file = this.bundle.dataFile(e.shardId)
    const n = e.shape.reduce((a, c) => a * c, 1)
    return decodeStringTensor(file, name, b, n)
  }

  close(): void {
    for (const s of this.fds.values()) closeSync(s.fd)
    this.fds.clear()
  }
}

function decodeStringTensor(file: string, name: string, b: Uint8Array, n: number): Uint8Array[] {
  const lens: number[] = []
  let pos = 0
  try {
    for (let i = 0; i < n; i++) {
      let l: number
      ;[l, pos] = readVarint(b, pos)
      lens.push(l)
    }
  } catch (e) {
    throw new ImportError('corrupt', file, `string tensor "${name}" has unreadable lengths (${(e as Error).message})`)
  }
  pos += 4 // masked CRC of the lengths
  const out: Uint8Array[] = []
  for (const l of lens) {
    if (pos + l > b.length) throw new ImportError('corrupt', file, `string tensor "${name}" is shorter than its lengths say`)
    out.push(b.subarray(pos, pos + l))
    pos += l
  }
  return out
}

/**
 * CRC of a string tensor as TensorFlow computes it (WriteStringTensor): over each length as a
 * little-endian uint32 (uint64 above 2^32-1), then the 4 stored length-checksum bytes, then the
 * string bytes.
 */
function stringTensorCrc(file: string, name: string, b: Uint8Array, n: number): number {
  let crc = 0
  let pos = 0
  const tmp = new DataView(new ArrayBuffer(8))
  try {
    for (let i = 0; i < n; i++) {
      let l: number
      ;[l, pos] = readVarint(b, pos)
      const width = l > 0xffffffff ? 8 : 4
      if (width === 4) tmp.setUint32(0, l, true)
      else tmp.setBigUint64(0, BigInt(l), true)
      crc = crc32cExtend(crc, new Uint8Array(tmp.buffer, 0, width))
    }
  } catch (e) {
    throw new ImportError('corrupt', file, `string tensor "${name}" has unreadable lengths (${(e as Error).message})`)
  }
  if (pos + 4 > b.length) throw new ImportError('corrupt', file, `string tensor "${name}" is shorter than its lengths say`)
  const stored = unmaskCrc(new DataView(b.buffer, b.byteOffset + pos, 4).getUint32(0, true))
  if (stored !== crc) throw new ImportError('checksum', file, `string tensor "${name}" fails the checksum of its lengths`)
  crc = crc32cExtend(crc, b.subarray(pos, pos + 4))
  return crc32cExtend(crc, b.subarray(pos + 4))
}

export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1
  const e = (h >> 10) & 0x1f
  const f = h & 0x3ff
  if (e === 0) return s * 2 ** -14 * (f / 1024)
  if (e === 31) return f ? Number.NaN : s * Infinity
  return s * 2 ** (e - 15) * (1 + f / 1024)
}

