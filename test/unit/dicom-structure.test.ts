/**
 * The element-length check every dcmjs parse goes through (src-main/volumes/dicom-file.ts): dcmjs
 * trusts lengths and loops until memory runs out on one that claims more than the file holds.
 * Pixel data is checked too. Good fixtures (our series, an Enhanced CT with nested sequences,
 * implicit VR, RLE, real JPEG 2000 slices and a real SEG) must pass; the same files with one length made to lie must be refused,
 * naming the element.
 */
import { describe, expect, it } from 'vitest'
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { dataSetLengthProblem, dicomPart10, parseDicomPart10, DicomStructureError } from '../../src-main/volumes/dicom-file.js'
import { generatePhantom } from '../../src-shared/phantom.js'
import { writeDicomSeries, writeEnhancedCt } from '../fixtures/dicom-series.js'
import { sharedData } from '../helpers/shared-data.js'

const tmp = () => mkdtempSync(join(tmpdir(), 'scn-structure-'))
const has = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0
const small = () => generatePhantom({ dims: [24, 20, 4], spacing: [10, 10, 10], noise: 0 }).ct
const slab = sharedData('amos/amos_0001-slab/img')
const seg = sharedData('dcmqi/liver.dcm')

function part10Of(file: string): Buffer {
  const p = dicomPart10(readFileSync(file))
  if (!p) throw new Error(`${file} is not DICOM`)
  return p.bytes
}

/** Offset of the first `FFFE,E000` item tag at or after `from`. */
function itemAt(b: Buffer, from = 132): number {
  for (let i = from; i + 8 <= b.length; i += 2) if (b.readUInt16LE(i) === 0xfffe && b.readUInt16LE(i + 2) === 0xe000) return i
  throw new Error('no item')
}

function convert(tool: string, args: string[], src: string): string {
  const out = join(tmp(), 'converted.dcm')
  const r = spawnSync(tool, [...args, src, out], { encoding: 'utf8' })
  expect(r.status, r.stderr).toBe(0)
  return out
}

describe('DICOM element lengths are checked before dcmjs parses', () => {
  const series = tmp()
  writeDicomSeries(small(), series)
  const sliceFile = join(series, readdirSync(series).sort()[0])
  const enhancedFile = join(tmp(), 'enhanced.dcm')
  writeEnhancedCt(small(), enhancedFile)

  it('good files pass, headers and pixel data: our series, an Enhanced CT (nested sequences), implicit VR', () => {
    for (const f of [sliceFile, enhancedFile]) {
      expect(dataSetLengthProblem(part10Of(f)), f).toBeNull()
    }
    if (has('dcmconv')) {
      const implicit = convert('dcmconv', ['+ti'], enhancedFile)
      expect(dataSetLengthProblem(part10Of(implicit))).toBeNull()
      const bare = convert('dcmconv', ['-F', '+ti'], enhancedFile)
      expect(dataSetLengthProblem(part10Of(bare))).toBeNull()
    }
  })

  it.skipIf(!slab || !seg)('real files pass: JPEG 2000 slices (AMOS) and a dcmqi SEG with its pixel data', () => {
    for (const f of readdirSync(slab!).map((x) => join(slab!, x))) expect(dataSetLengthProblem(part10Of(f)), f).toBeNull()
    expect(dataSetLengthProblem(part10Of(seg!))).toBeNull()
  })

  it('compressed Pixel Data inside an item (an icon image, sorted before the image) is walked as fragments, not refused', () => {
    const b = part10Of(sliceFile)
    const pixel = b.indexOf(Buffer.from([0xe0, 0x7f, 0x10, 0x00]))
    const u32 = (n: number) => { const x = Buffer.alloc(4); x.writeUInt32LE(n >>> 0); return x }
    const tag = (g: number, e: number) => { const x = Buffer.alloc(4); x.writeUInt16LE(g); x.writeUInt16LE(e, 2); return x }
    const icon = Buffer.concat([
      tag(0x0088, 0x0200), Buffer.from('SQ\0\0', 'latin1'), u32(0xffffffff), // Icon Image Sequence, undefined length
      tag(0xfffe, 0xe000), u32(0xffffffff), // its item, undefined length
      tag(0x7fe0, 0x0010), Buffer.from('OB\0\0', 'latin1'), u32(0xffffffff), // the icon's compressed pixel data
      tag(0xfffe, 0xe000), u32(0), // empty offset table
      tag(0xfffe, 0xe000), u32(6), Buffer.from([1, 2, 3, 4, 5, 6]), // one fragment
      tag(0xfffe, 0xe0dd), u32(0), // end of fragments
      tag(0xfffe, 0xe00d), u32(0), // end of item
      tag(0xfffe, 0xe0dd), u32(0), // end of sequence
    ])
    const withIcon = Buffer.concat([b.subarray(0, pixel), icon, b.subarray(pixel)])
    expect(dataSetLengthProblem(withIcon)).toBeNull()
    expect('00880200' in parseDicomPart10(withIcon, true).dict).toBe(true)
    // ...and a fragment of it that claims too much is still caught
    const lying = Buffer.from(withIcon)
    lying.writeUInt32LE(0x10000000, pixel + icon.indexOf(Buffer.from([1, 2, 3, 4, 5, 6])) - 4)
    expect(dataSetLengthProblem(lying)).toMatch(/^a fragment of the compressed Pixel Data claims 268435456 bytes/)
  })

  it('an element that claims more than the file holds is named, with the bytes claimed and left', () => {
    const b = Buffer.from(part10Of(sliceFile))
    // the first data set element after the meta group: (0008,xxxx), a short-length VR; make it a UN claiming 256 MB
    const start = 132 + 12 + b.readUInt32LE(140)
    const tag = `(${b.readUInt16LE(start).toString(16).padStart(4, '0').toUpperCase()},${b.readUInt16LE(start + 2).toString(16).padStart(4, '0').toUpperCase()})`
    const crafted = Buffer.concat([b.subarray(0, start + 4), Buffer.from('UN\0\0', 'latin1'), Buffer.from([0, 0, 0, 0x10]), b.subarray(start + 8)])
    const problem = dataSetLengthProblem(crafted)
    expect(problem).toBe(`element ${tag} claims 268435456 bytes but only ${crafted.length - start - 12} remain in the file`)
    expect(() => parseDicomPart10(crafted, true)).toThrow(DicomStructureError)
  })

  it('an item inside a sequence that claims too much is refused; a sequence never closed is refused', () => {
    const b = Buffer.from(part10Of(enhancedFile))
    const at = itemAt(b)
    const lying = Buffer.from(b)
    lying.writeUInt32LE(0x7ffffff0, at + 4)
    expect(dataSetLengthProblem(lying)).toMatch(/^an item of sequence \(5200,9229\) claims 2147483632 bytes but only \d+ remain$/)
    // cut inside the nested sequences: no delimiter or item end before the file ends
    const cut = b.subarray(0, at + 40)
    expect(dataSetLengthProblem(cut)).not.toBeNull()
  })

  it.skipIf(!has('dcmcrle'))("compressed pixel data: the image's fragments are checked, and one cut short is told as pixel data, not header", () => {
    const rle = part10Of(convert('dcmcrle', [], sliceFile))
    expect(dataSetLengthProblem(rle)).toBeNull()
    // the fragment after the (empty) offset table claims more than is left
    const table = itemAt(rle, rle.indexOf(Buffer.from([0xe0, 0x7f, 0x10, 0x00])))
    const fragment = table + 8 + rle.readUInt32LE(table + 4)
    const lying = Buffer.from(rle)
    lying.writeUInt32LE(0x10000000, fragment + 4)
    expect(dataSetLengthProblem(lying)).toBe(`a fragment of the compressed Pixel Data claims 268435456 bytes but only ${rle.length - fragment - 8} remain`)
    let err: unknown
    try {
      parseDicomPart10(lying, true)
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(DicomStructureError)
    expect((err as DicomStructureError).inPixelData).toBe(true)
  })
})
