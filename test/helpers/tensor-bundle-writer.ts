/**
 * Writes tensor bundles in TensorFlow's format (the inverse of tensor-bundle.ts / sstable.ts).
 * SCN Studio itself never needs to write TF checkpoints: this exists so that tests make their own
 * bundles (block sizes and restart intervals chosen to hit multi-block and prefix-sharing cases)
 * and can pair a real index with a data file of known values.
 */
import { writeFileSync } from 'node:fs'
import { crc32c, crc32cExtend, maskCrc } from '../../src-main/import/crc32c.js'
import { bytesField, concatBytes, encodeVarint, fixed32Field, utf8Encode, varintField } from '../../src-main/import/proto-wire.js'
import { compareBytes, TABLE_MAGIC_HI, TABLE_MAGIC_LO } from '../../src-main/import/sstable.js'
import { dataFileName } from '../../src-main/import/tensor-bundle.js'

export interface TableOptions {
  /** flush a data block once its entries reach this many bytes (LevelDB default 4096) */
  blockSize?: number
  /** entries between restart points (LevelDB default 16) */
  restartInterval?: number
}

class BlockBuilder {
  private parts: Uint8Array[] = []
  private size = 0
  private restarts: number[] = [0]
  private count = 0
  private last: Uint8Array = new Uint8Array(0)
  constructor(private readonly restartInterval: number) {}
  add(key: Uint8Array, value: Uint8Array): void {
    let shared = 0
    if (this.count % this.restartInterval === 0) {
      if (this.count > 0) this.restarts.push(this.size)
    } else {
      const n = Math.min(key.length, this.last.length)
      while (shared < n && key[shared] === this.last[shared]) shared++
    }
    const entry = concatBytes([encodeVarint(shared), encodeVarint(key.length - shared), encodeVarint(value.length), key.subarray(shared), value])
    this.parts.push(entry)
    this.size += entry.length
    this.count++
    this.last = key
  }
  get bytes(): number {
    return this.size
  }
  get empty(): boolean {
    return this.count === 0
  }
  finish(): Uint8Array {
    const tail = new Uint8Array(4 * this.restarts.length + 4)
    const dv = new DataView(tail.buffer)
    this.restarts.forEach((r, i) => dv.setUint32(4 * i, r, true))
    dv.setUint32(4 * this.restarts.length, this.restarts.length, true)
    return concatBytes([...this.parts, tail])
  }
}

/** A LevelDB table of the given entries (sorted here), uncompressed. */
export function encodeTable(entries: { key: Uint8Array; value: Uint8Array }[], opts: TableOptions = {}): Uint8Array {
  const blockSize = opts.blockSize ?? 4096
  const restartInterval = opts.restartInterval ?? 16
  const sorted = [...entries].sort((a, b) => compareBytes(a.key, b.key))
  const out: Uint8Array[] = []
  let offset = 0
  const writeBlock = (contents: Uint8Array) => {
    const trailer = new Uint8Array(5)
    trailer[0] = 0
    const crc = maskCrc(crc32cExtend(crc32c(contents), trailer.subarray(0, 1)))
    new DataView(trailer.buffer).setUint32(1, crc, true)
    const handle = { offset, size: contents.length }
    out.push(contents, trailer)
    offset += contents.length + 5
    return handle
  }
  const handleBytes = (h: { offset: number; size: number }) => concatBytes([encodeVarint(h.offset), encodeVarint(h.size)])
  const index = new BlockBuilder(1)
  let block = new BlockBuilder(restartInterval)
  let lastKey: Uint8Array = new Uint8Array(0)
  const flush = () => {
    if (block.empty) return
    index.add(lastKey, handleBytes(writeBlock(block.finish())))
    block = new BlockBuilder(restartInterval)
  }
  for (const e of sorted) {
    block.add(e.key, e.value)
    lastKey = e.key
    if (block.bytes >= blockSize) flush()
  }
  flush()
  const meta = writeBlock(new BlockBuilder(1).finish())
  const idx = writeBlock(index.finish())
  const footer = new Uint8Array(48)
  footer.set(concatBytes([handleBytes(meta), handleBytes(idx)]), 0)
  const dv = new DataView(footer.buffer)
  dv.setUint32(40, TABLE_MAGIC_LO, true)
  dv.setUint32(44, TABLE_MAGIC_HI, true)
  out.push(footer)
  return concatBytes(out)
}

export interface BundleTensor {
  name: string
  /** TF DataType number (1 float32, 3 int32, 7 string, 19 float16, ...) */
  dtype: number
  shape: number[]
  /** raw bytes as they go into the data file (for strings: use encodeStringTensor) */
  data: Uint8Array
  /** override what the index says (tests of broken bundles) */
  offset?: number
  size?: number
  crc32c?: number
}

export function encodeShape(shape: readonly number[]): Uint8Array {
  return concatBytes(shape.map((d) => bytesField(2, varintField(1, d))))
}

export function encodeEntry(e: { dtype: number; shape: readonly number[]; shardId?: number; offset: number; size: number; crc32c: number }): Uint8Array {
  return concatBytes([
    varintField(1, e.dtype),
    bytesField(2, encodeShape(e.shape)),
    ...(e.shardId ? [varintField(3, e.shardId)] : []),
    ...(e.offset ? [varintField(4, e.offset)] : []),
    varintField(5, e.size),
    fixed32Field(6, maskCrc(e.crc32c)),
  ])
}

export function encodeHeader(numShards = 1): Uint8Array {
  return concatBytes([varintField(1, numShards), bytesField(3, varintField(1, 1))])
}

/** DT_STRING data: varint64 lengths, masked CRC of the lengths, the bytes; and TF's tensor CRC. */
export function encodeStringTensor(strings: Uint8Array[]): { data: Uint8Array; crc32c: number } {
  let crc = 0
  const lens: Uint8Array[] = []
  for (const s of strings) {
    lens.push(encodeVarint(s.length))
    const b = new Uint8Array(4)
    new DataView(b.buffer).setUint32(0, s.length, true)
    crc = crc32cExtend(crc, b)
  }
  const ck = new Uint8Array(4)
  new DataView(ck.buffer).setUint32(0, maskCrc(crc), true)
  crc = crc32cExtend(crc, ck)
  for (const s of strings) crc = crc32cExtend(crc, s)
  return { data: concatBytes([...lens, ck, ...strings]), crc32c: crc }
}

/** Writes <prefix>.index and <prefix>.data-00000-of-00001. */
export function writeTensorBundle(prefix: string, tensors: BundleTensor[], opts: TableOptions = {}): void {
  const parts: Uint8Array[] = []
  let offset = 0
  const entries: { key: Uint8Array; value: Uint8Array }[] = [{ key: new Uint8Array(0), value: encodeHeader(1) }]
  for (const t of tensors) {
    const crc = t.dtype === 7 ? (t.crc32c ?? 0) : crc32c(t.data)
    entries.push({
      key: utf8Encode(t.name),
      value: encodeEntry({ dtype: t.dtype, shape: t.shape, offset: t.offset ?? offset, size: t.size ?? t.data.length, crc32c: t.crc32c ?? crc }),
    })
    parts.push(t.data)
    offset += t.data.length
  }
  writeFileSync(`${prefix}.index`, encodeTable(entries, opts))
  writeFileSync(dataFileName(prefix, 0, 1), concatBytes(parts))
}
