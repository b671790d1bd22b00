/**
 * Reader for the LevelDB table format that TensorFlow uses for a tensor bundle's variables.index
 * (tensorflow/core/lib/io/table*): data blocks of sorted key/value entries, an index block whose
 * values are handles of the data blocks, a metaindex block, and a 48-byte footer.
 *
 *   footer  = metaindex handle, index handle (each varint64 offset, varint64 size), zero padding
 *             to 40 bytes, then the magic 0xdb4775248b80fb57 as a little-endian fixed64
 *   block   = entries, restart offsets (uint32 each), restart count (uint32), then a 5-byte
 *             trailer: compression type (1 byte) + masked CRC-32C of contents and type byte
 *   entry   = varint32 shared key bytes, varint32 non-shared key bytes, varint32 value length,
 *             the non-shared key suffix, the value. Keys at restart points share nothing.
 *
 * TensorFlow writes bundles uncompressed (TableBuilder with kNoCompression), so a compressed block
 * means a file we were not written for: we say so instead of guessing. Block CRCs are verified:
 * the index is small, and a damaged index would otherwise map weights to the wrong places.
 */
import { crc32c, unmaskCrc } from './crc32c.js'
import { ImportError } from './errors.js'
import { readVarint, WireError } from './proto-wire.js'

export const TABLE_MAGIC_LO = 0x8b80fb57
export const TABLE_MAGIC_HI = 0xdb477524
export const FOOTER_SIZE = 48
export const BLOCK_TRAILER_SIZE = 5

export interface BlockHandle {
  offset: number
  size: number
}

export interface TableEntry {
  key: Uint8Array
  value: Uint8Array
}

function decodeHandle(file: string, buf: Uint8Array, pos: number, what: string): [BlockHandle, number] {
  try {
    const [offset, p1] = readVarint(buf, pos)
    const [size, p2] = readVarint(buf, p1)
    return [{ offset, size }, p2]
  } catch (e) {
    throw new ImportError('corrupt', file, `the ${what} block handle is unreadable (${(e as Error).message})`)
  }
}

export function readFooter(file: string, buf: Uint8Array): { metaindex: BlockHandle; index: BlockHandle } {
  if (buf.length < FOOTER_SIZE) {
    throw new ImportError('truncated', file, `the file is ${buf.length} bytes, shorter than a table footer (${FOOTER_SIZE} bytes): it is not a TensorFlow variables.index or it was cut short`)
  }
  const f = buf.subarray(buf.length - FOOTER_SIZE)
  const dv = new DataView(f.buffer, f.byteOffset, f.byteLength)
  const lo = dv.getUint32(40, true)
  const hi = dv.getUint32(44, true)
  if (lo !== TABLE_MAGIC_LO || hi !== TABLE_MAGIC_HI) {
    const got = hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0')
    throw new ImportError('bad-magic', file, `bad table magic 0x${got} (expected 0xdb4775248b80fb57): not a TensorFlow variables.index, or the file is damaged or cut short`)
  }
  const [metaindex, p] = decodeHandle(file, f, 0, 'metaindex')
  const [index, p2] = decodeHandle(file, f, p, 'index')
  if (p2 > 40) throw new ImportError('corrupt', file, 'the footer block handles overrun their 40 bytes')
  return { metaindex, index }
}

/** Contents of one block (trailer checked and stripped). */
export function readBlockContents(file: string, buf: Uint8Array, h: BlockHandle, what: string): Uint8Array {
  const end = h.offset + h.size + BLOCK_TRAILER_SIZE
  if (end > buf.length - FOOTER_SIZE) {
    throw new ImportError('truncated', file, `the ${what} block (offset ${h.offset}, ${h.size} bytes) lies beyond the end of the table data (${buf.length} bytes): the file is cut short or damaged`)
  }
  const contents = buf.subarray(h.offset, h.offset + h.size)
  const type = buf[h.offset + h.size]
  if (type !== 0) {
    const name = type === 1 ? 'Snappy' : type === 2 ? 'Zlib' : `type ${type}`
    throw new ImportError('unsupported', file, `the ${what} block is ${name}-compressed; TensorFlow writes tensor-bundle indexes uncompressed, so this file is not one we can read`)
  }
  const dv = new DataView(buf.buffer, buf.byteOffset + h.offset + h.size + 1, 4)
  const stored = unmaskCrc(dv.getUint32(0, true))
  const actual = crc32c(buf.subarray(h.offset, h.offset + h.size + 1))
  if (stored !== actual) {
    throw new ImportError('checksum', file, `the ${what} block at offset ${h.offset} fails its CRC-32C check (stored ${stored.toString(16)}, computed ${actual.toString(16)}): the file is damaged`)
  }
  return contents
}

/** Decode the entries of one block, restoring prefix-compressed keys. */
export function parseBlock(file: string, contents: Uint8Array, what: string): TableEntry[] {
  const bad = (why: string) => new ImportError('corrupt', file, `the ${what} block is malformed: ${why}`)
  if (contents.length < 4) throw bad('shorter than its restart count')
  const dv = new DataView(contents.buffer, contents.byteOffset, contents.byteLength)
  const numRestarts = dv.getUint32(contents.length - 4, true)
  const restartsAt = contents.length - 4 - 4 * numRestarts
  if (numRestarts === 0 || restartsAt < 0) throw bad(`impossible restart count ${numRestarts}`)
  const restarts = new Set<number>()
  for (let i = 0; i < numRestarts; i++) {
    const r = dv.getUint32(restartsAt + 4 * i, true)
    if (r >= Math.max(restartsAt, 1)) throw bad(`restart offset ${r} lies outside the entries`)
    restarts.add(r)
  }
  const entries: TableEntry[] = []
  let prev = new Uint8Array(0)
  let pos = 0
  try {
    while (pos < restartsAt) {
      const at = pos
      let shared: number, nonShared: number, valueLen: number
      ;[shared, pos] = readVarint(contents, pos, restartsAt)
      ;[nonShared, pos] = readVarint(contents, pos, restartsAt)
      ;[valueLen, pos] = readVarint(contents, pos, restartsAt)
      if (restarts.has(at) && shared !== 0) throw bad(`the entry at restart offset ${at} shares ${shared} key bytes`)
      if (shared > prev.length) throw bad(`an entry shares ${shared} bytes of a ${prev.length}-byte key`)
      if (pos + nonShared + valueLen > restartsAt) throw bad(`the entry at offset ${at} runs into the restart array`)
      const key = new Uint8Array(shared + nonShared)
      key.set(prev.subarray(0, shared), 0)
      key.set(contents.subarray(pos, pos + nonShared), shared)
      pos += nonShared
      const value = contents.subarray(pos, pos + valueLen)
      pos += valueLen
      entries.push({ key, value })
      prev = key
    }
  } catch (e) {
    if (e instanceof WireError) throw bad(e.message)
    throw e
  }
  return entries
}

/** Every key/value of the table, in key order. */
export function readTable(file: string, buf: Uint8Array): TableEntry[] {
  const { index } = readFooter(file, buf)
  const indexEntries = parseBlock(file, readBlockContents(file, buf, index, 'index'), 'index')
  const out: TableEntry[] = []
  for (let i = 0; i < indexEntries.length; i++) {
    const [h] = decodeHandle(file, indexEntries[i].value, 0, `data block ${i}`)
    out.push(...parseBlock(file, readBlockContents(file, buf, h, `data block ${i}`), `data block ${i}`))
  }
  for (let i = 1; i < out.length; i++) {
    if (compareBytes(out[i - 1].key, out[i].key) >= 0) throw new ImportError('corrupt', file, `keys are not in strictly increasing order at entry ${i}`)
  }
  return out
}

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i]
  return a.length - b.length
}
