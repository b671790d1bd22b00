/**
 * Tensor-bundle reader (src-main/import/tensor-bundle.ts, sstable.ts) on bundles the test writes
 * itself in TensorFlow's format, including the edge cases of the LevelDB table (varints of every
 * width, keys sharing prefixes across restart points and blocks, many blocks) and every broken-file
 * error; plus the authors' real localization index when the shared data is present.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { crc32c, maskCrc, unmaskCrc } from '../../src-main/import/crc32c.js'
import { ImportError } from '../../src-main/import/errors.js'
import { encodeVarint, readVarint, utf8Encode, WireError } from '../../src-main/import/proto-wire.js'
import { readFooter, readTable } from '../../src-main/import/sstable.js'
import { BundleReader, openTensorBundle } from '../../src-main/import/tensor-bundle.js'
import { encodeEntry, encodeHeader, encodeStringTensor, encodeTable, writeTensorBundle, type BundleTensor } from '../helpers/tensor-bundle-writer.js'
import { NEEDS_DATA, sharedData } from '../helpers/shared-data.js'

const dir = mkdtempSync(join(tmpdir(), 'scn-bundle-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let n = 0
const prefix = () => join(dir, `b${n++}`, 'variables')

function f32(values: number[]): Uint8Array {
  return new Uint8Array(new Float32Array(values).buffer)
}

function expectImportError(fn: () => unknown, code: string, file: string, re: RegExp) {
  try {
    fn()
  } catch (e) {
    expect(e).toBeInstanceOf(ImportError)
    expect((e as ImportError).code).toBe(code)
    expect((e as ImportError).message.startsWith(file)).toBe(true)
    expect((e as ImportError).message).toMatch(re)
    return
  }
  throw new Error(`expected an ImportError ${code}`)
}

function mkBundle(tensors: BundleTensor[], opts = {}): string {
  const p = prefix()
  mkdirp(join(p, '..'))
  writeTensorBundle(p, tensors, opts)
  return p
}
function mkdirp(d: string) {
  mkdirSync(d, { recursive: true })
}

describe('varints', () => {
  const cases = [0, 1, 127, 128, 300, 16383, 16384, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 5, 2 ** 40 + 123, Number.MAX_SAFE_INTEGER]
  it.each(cases)('round-trips %d with the protobuf width', (v) => {
    const b = encodeVarint(v)
    const width = v === 0 ? 1 : Math.ceil(Math.log2(v + 1) / 7)
    expect(b.length).toBe(width)
    expect(readVarint(b, 0)).toEqual([v, b.length])
  })
  it('decodes the protobuf reference encodings', () => {
    expect(readVarint(Uint8Array.from([0x96, 0x01]), 0)[0]).toBe(150)
    expect(readVarint(Uint8Array.from([0x80, 0x80, 0x80, 0x80, 0x10]), 0)[0]).toBe(2 ** 32)
  })
  it('rejects truncated, over-long and >2^53 varints', () => {
    expect(() => readVarint(Uint8Array.from([0x80, 0x80]), 0)).toThrow(WireError)
    expect(() => readVarint(new Uint8Array(11).fill(0x80), 0)).toThrow(/longer than 10 bytes/)
    expect(() => readVarint(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]), 0)).toThrow(/larger than 2\^53/)
  })
})

describe('CRC-32C', () => {
  it('matches the standard check value and LevelDB masking', () => {
    expect(crc32c(utf8Encode('123456789'))).toBe(0xe3069283)
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa) // RFC 3720 B.4: 32 bytes of zeros
    const c = crc32c(utf8Encode('hello'))
    expect(maskCrc(c)).not.toBe(c)
    expect(unmaskCrc(maskCrc(c))).toBe(c)
  })
})

describe('LevelDB table', () => {
  // 300 keys in the style of SavedModel variables: long shared prefixes, numeric suffixes that sort
  // as strings (1, 10, 100, 101, ...), so prefix sharing crosses restart points and blocks.
  const keys = Array.from({ length: 300 }, (_, i) => `model/variables/${i}/.ATTRIBUTES/VARIABLE_VALUE`)
  const entries = keys.map((k, i) => ({ key: utf8Encode(k), value: utf8Encode(`v${i}`.repeat((i % 5) + 1)) }))

  it.each([
    { blockSize: 4096, restartInterval: 16, name: 'defaults' },
    { blockSize: 64, restartInterval: 3, name: 'tiny blocks, restart every 3' },
    { blockSize: 1, restartInterval: 1, name: 'one entry per block' },
    { blockSize: 1 << 20, restartInterval: 1000, name: 'one block, one restart' },
  ])('reads back every key and value ($name)', (opts) => {
    const buf = encodeTable(entries, opts)
    const got = readTable('t.index', buf)
    const want = [...entries].sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)))
    expect(got.map((e) => Buffer.from(e.key).toString())).toEqual(want.map((e) => Buffer.from(e.key).toString()))
    expect(got.map((e) => Buffer.from(e.value).toString())).toEqual(want.map((e) => Buffer.from(e.value).toString()))
  })

  it('has several data blocks with small block sizes (the index block lists them)', () => {
    const big = encodeTable(entries, { blockSize: 64, restartInterval: 3 })
    const one = encodeTable(entries, { blockSize: 1 << 20, restartInterval: 1000 })
    // prefix compression: one block with no restarts is far smaller than many small blocks
    expect(one.length).toBeLessThan(big.length / 2)
    const { index } = readFooter('t', big)
    expect(index.size).toBeGreaterThan(100)
  })

  it('rejects a bad magic, a short file, a damaged block and a compressed block', () => {
    const buf = encodeTable(entries, { blockSize: 256 })
    const bad = buf.slice()
    bad[bad.length - 1] ^= 0xff
    expectImportError(() => readTable('x.index', bad), 'bad-magic', 'x.index', /magic 0x24.*expected 0xdb4775248b80fb57/)
    expectImportError(() => readTable('x.index', buf.subarray(0, 20)), 'truncated', 'x.index', /shorter than a table footer/)
    const flipped = buf.slice()
    flipped[10] ^= 0x01
    expectImportError(() => readTable('x.index', flipped), 'checksum', 'x.index', /CRC-32C/)
    // compression byte of the data block set to Snappy (1), CRC recomputed as a real writer would:
    // layout [data block][trailer][meta block][trailer][index block][trailer][footer]
    const tbl = encodeTable([{ key: utf8Encode('a'), value: utf8Encode('b') }])
    const dataSize = 5 + 4 + 4 // entry (3 one-byte varints, 'a', 'b') + one restart + count
    const snappy = tbl.slice()
    snappy[dataSize] = 1
    new DataView(snappy.buffer).setUint32(dataSize + 1, maskCrc(crc32c(snappy.subarray(0, dataSize + 1))), true)
    expectImportError(() => readTable('s.index', snappy), 'unsupported', 's.index', /Snappy-compressed/)
  })

  it('rejects an entry at a restart point that claims shared key bytes', () => {
    // hand-made block: entry (shared=1!, nonShared=1, value=1, 'a', 'b'), restarts [0], count 1
    const contents = Uint8Array.from([1, 1, 1, 0x61, 0x62, 0, 0, 0, 0, 1, 0, 0, 0])
    const trailer = new Uint8Array(5)
    const crc = maskCrc(crc32c(Uint8Array.from([...contents, 0])))
    new DataView(trailer.buffer).setUint32(1, crc, true)
    const meta = Uint8Array.from([0, 0, 0, 0, 1, 0, 0, 0])
    const metaTrailer = new Uint8Array(5)
    new DataView(metaTrailer.buffer).setUint32(1, maskCrc(crc32c(Uint8Array.from([...meta, 0]))), true)
    const dataOff = 0
    const metaOff = contents.length + 5
    const idxOff = metaOff + meta.length + 5
    const idx = Uint8Array.from([0, 1, 2, 0x61, dataOff, contents.length, 0, 0, 0, 0, 1, 0, 0, 0])
    const idxTrailer = new Uint8Array(5)
    new DataView(idxTrailer.buffer).setUint32(1, maskCrc(crc32c(Uint8Array.from([...idx, 0]))), true)
    const footer = new Uint8Array(48)
    footer.set([metaOff, meta.length, idxOff, idx.length], 0)
    new DataView(footer.buffer).setUint32(40, 0x8b80fb57, true)
    new DataView(footer.buffer).setUint32(44, 0xdb477524, true)
    const file = Uint8Array.from([...contents, ...trailer, ...meta, ...metaTrailer, ...idx, ...idxTrailer, ...footer])
    expectImportError(() => readTable('r.index', file), 'corrupt', 'r.index', /restart offset 0 shares 1 key bytes/)
  })
})

describe('tensor bundle', () => {
  const kernel = Array.from({ length: 3 * 3 * 3 * 2 * 4 }, (_, i) => i * 0.25 - 7)
  const strings = encodeStringTensor([utf8Encode('object graph bytes'), utf8Encode('')])
  const half = Uint8Array.from([0x00, 0x3c, 0x00, 0xc0, 0x00, 0x7c]) // 1, -2, +inf
  const tensors = (): BundleTensor[] => [
    { name: 'model/variables/0/.ATTRIBUTES/VARIABLE_VALUE', dtype: 1, shape: [3, 3, 3, 2, 4], data: f32(kernel) },
    { name: 'model/variables/1/.ATTRIBUTES/VARIABLE_VALUE', dtype: 1, shape: [4], data: f32([1, 2, 3, 4]) },
    { name: 'model/variables/10/.ATTRIBUTES/VARIABLE_VALUE', dtype: 19, shape: [3], data: half },
    { name: 'save_counter/.ATTRIBUTES/VARIABLE_VALUE', dtype: 9, shape: [], data: new Uint8Array(8) },
    { name: '_CHECKPOINTABLE_OBJECT_GRAPH', dtype: 7, shape: [2], data: strings.data, crc32c: strings.crc32c },
  ]

  it('reads header, entries, values and string tensors with checksums verified', () => {
    const p = mkBundle(tensors(), { blockSize: 40, restartInterval: 2 })
    const b = openTensorBundle(join(p, '..'))
    expect(b.header).toEqual({ numShards: 1, endianness: 'little', producer: 1 })
    expect(b.entries.map((e) => e.name)).toEqual([
      '_CHECKPOINTABLE_OBJECT_GRAPH',
      'model/variables/0/.ATTRIBUTES/VARIABLE_VALUE',
      'model/variables/1/.ATTRIBUTES/VARIABLE_VALUE',
      'model/variables/10/.ATTRIBUTES/VARIABLE_VALUE',
      'save_counter/.ATTRIBUTES/VARIABLE_VALUE',
    ])
    const k = b.byName.get('model/variables/0/.ATTRIBUTES/VARIABLE_VALUE')!
    expect(k.shape).toEqual([3, 3, 3, 2, 4])
    expect(k.dtypeName).toBe('float32')
    const r = new BundleReader(b)
    expect(Array.from(r.float32(k.name))).toEqual(kernel)
    expect(Array.from(r.float32('model/variables/10/.ATTRIBUTES/VARIABLE_VALUE'))).toEqual([1, -2, Infinity])
    expect(r.strings('_CHECKPOINTABLE_OBJECT_GRAPH').map((s) => Buffer.from(s).toString())).toEqual(['object graph bytes', ''])
    r.close()
  })

  it('keeps offsets above 2^32 exact, and reports the data file as cut short', () => {
    const t = tensors()
    t[1].offset = 2 ** 32 + 12
    const p = mkBundle(t)
    const b = openTensorBundle(`${p}.index`)
    expect(b.byName.get(t[1].name)!.offset).toBe(2 ** 32 + 12)
    const r = new BundleReader(b)
    expectImportError(() => r.bytes(t[1].name), 'truncated', b.dataFile(0), /cut short/)
    r.close()
  })

  it('names the missing data file, a truncated data file and a damaged tensor', () => {
    const p = mkBundle(tensors())
    const b = openTensorBundle(p)
    const data = b.dataFile(0)
    const size = readFileSync(data).length
    const r0 = new BundleReader(b)
    const bytes = readFileSync(data)
    bytes[5] ^= 0x40
    writeFileSync(data, bytes)
    expectImportError(() => r0.bytes('model/variables/0/.ATTRIBUTES/VARIABLE_VALUE'), 'checksum', data, /fails its CRC-32C check/)
    expect(new BundleReader(b, { verifyChecksums: false }).bytes('model/variables/0/.ATTRIBUTES/VARIABLE_VALUE').length).toBe(kernel.length * 4)
    r0.close()
    truncateSync(data, size - 10)
    const r1 = new BundleReader(b)
    expectImportError(() => r1.bytes('_CHECKPOINTABLE_OBJECT_GRAPH'), 'truncated', data, /data file is \d+ bytes but tensor "_CHECKPOINTABLE_OBJECT_GRAPH" needs/)
    r1.close()
    unlinkSync(data)
    const r2 = new BundleReader(b)
    expectImportError(() => r2.bytes('model/variables/1/.ATTRIBUTES/VARIABLE_VALUE'), 'not-found', data, /tensor data file is missing/)
  })

  it('names the missing index and rejects an unknown dtype', () => {
    expectImportError(() => openTensorBundle(join(dir, 'nowhere', 'variables')), 'not-found', join(dir, 'nowhere', 'variables.index'), /index \(variables.index\) is missing/)
    const p = prefix()
    mkdirp(join(p, '..'))
    const entries = [
      { key: new Uint8Array(0), value: encodeHeader(1) },
      { key: utf8Encode('weird'), value: encodeEntry({ dtype: 99, shape: [2], offset: 0, size: 8, crc32c: 0 }) },
    ]
    writeFileSync(`${p}.index`, encodeTable(entries))
    expectImportError(() => openTensorBundle(p), 'unknown-dtype', `${p}.index`, /"weird" has TensorFlow dtype 99/)
  })

  it('rejects an entry whose size disagrees with dtype x shape', () => {
    const p = prefix()
    mkdirp(join(p, '..'))
    const entries = [
      { key: new Uint8Array(0), value: encodeHeader(1) },
      { key: utf8Encode('w'), value: encodeEntry({ dtype: 1, shape: [3, 3], offset: 0, size: 32, crc32c: 0 }) },
    ]
    writeFileSync(`${p}.index`, encodeTable(entries))
    expectImportError(() => openTensorBundle(p), 'corrupt', `${p}.index`, /should take 36 bytes but its entry says 32/)
  })
})

const locIndex = sharedData('flare21-efficientscn/localization/variables/variables.index')
describe.skipIf(!locIndex)(`the authors' localization bundle (${locIndex ? 'present' : NEEDS_DATA})`, () => {
  it('reads all 43 entries and every tensor passes its CRC-32C', () => {
    const b = openTensorBundle(locIndex!)
    expect(b.entries.length).toBe(43)
    const r = new BundleReader(b)
    let params = 0
    for (const e of b.entries) {
      if (e.dtype === 7) expect(r.strings(e.name)[0].length).toBeGreaterThan(1000)
      else params += r.float32(e.name).length
    }
    r.close()
    expect(params).toBe(637_474)
  })
})
