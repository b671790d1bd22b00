/**
 * Recognising a DICOM file by its bytes, and handing dcmjs the Part 10 stream it expects.
 *
 * Most files are Part 10: a 128-byte preamble, "DICM", then the file meta group. Older archives,
 * some modality exports and `dcmconv -F` store the bare data set instead (no preamble, no meta
 * group), or the meta group without the preamble. GDCM and dcm2niix read those; dcmjs only reads
 * Part 10, so a bare data set gets a meta group naming the transfer syntax its first element shows.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs'
import dcmjs from 'dcmjs'

// dcmjs logs every unknown private VR at warn level; the user cannot act on that.
dcmjs.log?.setLevel?.('error')

export type DicomFileKind = 'part10' | 'meta-without-preamble' | 'dataset-explicit-le' | 'dataset-implicit-le'

const EXPLICIT_LE = '1.2.840.10008.1.2.1'
const IMPLICIT_LE = '1.2.840.10008.1.2'
/** Bytes `sniffDicom` needs to decide. */
export const DICOM_SNIFF_BYTES = 132

const VRS = new Set('AE AS AT CS DA DS DT FD FL IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC UI UL UN UR US UT UV'.split(' '))

/**
 * What kind of DICOM file `head` (its first bytes) starts, or null for anything else. A bare data
 * set is recognised by its first element: group 0008 (identification), which every image object
 * has and which sorts first; its VR says explicit or implicit little endian.
 */
export function sniffDicom(head: Uint8Array): DicomFileKind | null {
  const b = Buffer.from(head.buffer, head.byteOffset, head.byteLength)
  if (b.length >= 132 && b.toString('latin1', 128, 132) === 'DICM') return 'part10'
  if (b.length < 8) return null
  const group = b.readUInt16LE(0)
  const element = b.readUInt16LE(2)
  const vr = b.toString('latin1', 4, 6)
  if (group === 0x0002 && element <= 0x0002 && VRS.has(vr)) return 'meta-without-preamble'
  if (group !== 0x0008 || element > 0x00ff) return null
  if (VRS.has(vr)) return 'dataset-explicit-le'
  // implicit VR: a 4-byte length follows the tag; the first identification elements are short
  return b.readUInt32LE(4) < 0x1000 ? 'dataset-implicit-le' : null
}

/** Whether the file at `path` is DICOM in any of the forms above (false when unreadable). */
export function isDicomFile(path: string): boolean {
  let fd: number | undefined
  try {
    // O_NONBLOCK: a FIFO would otherwise wait for a writer, forever; only regular files are sniffed
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK)
    if (!fstatSync(fd).isFile()) return false
    const b = Buffer.alloc(DICOM_SNIFF_BYTES)
    const n = readSync(fd, b, 0, DICOM_SNIFF_BYTES, 0)
    return sniffDicom(b.subarray(0, n)) !== null
  } catch {
    return false
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}

/** An explicit VR little endian element with a short (2-byte) length. */
function shortElement(element: number, vr: string, value: Buffer): Buffer {
  const h = Buffer.alloc(8)
  h.writeUInt16LE(0x0002, 0)
  h.writeUInt16LE(element, 2)
  h.write(vr, 4, 'latin1')
  h.writeUInt16LE(value.length, 6)
  return Buffer.concat([h, value])
}

/** The file meta group for a bare data set in `transferSyntax`. */
function metaGroup(transferSyntax: string): Buffer {
  const uid = Buffer.from(transferSyntax.length % 2 ? `${transferSyntax}\0` : transferSyntax, 'latin1')
  // (0002,0001) version: OB has a 4-byte length after two reserved bytes
  const version = Buffer.from([0x02, 0x00, 0x01, 0x00, 0x4f, 0x42, 0, 0, 2, 0, 0, 0, 0x00, 0x01])
  const rest = Buffer.concat([version, shortElement(0x0010, 'UI', uid)])
  const length = Buffer.alloc(4)
  length.writeUInt32LE(rest.length)
  return Buffer.concat([shortElement(0x0000, 'UL', length), rest])
}

/** `buf` as a Part 10 stream (the same buffer when it is one), or null when it is not DICOM. */
export function dicomPart10(buf: Buffer): { bytes: Buffer; kind: DicomFileKind } | null {
  const kind = sniffDicom(buf.subarray(0, DICOM_SNIFF_BYTES))
  if (kind === null) return null
  if (kind === 'part10') return { bytes: buf, kind }
  const preamble = Buffer.concat([Buffer.alloc(128), Buffer.from('DICM', 'latin1')])
  if (kind === 'meta-without-preamble') return { bytes: Buffer.concat([preamble, buf]), kind }
  return { bytes: Buffer.concat([preamble, metaGroup(kind === 'dataset-explicit-le' ? EXPLICIT_LE : IMPLICIT_LE), buf]), kind }
}

/** The ArrayBuffer dcmjs reads (a copy of exactly the buffer's bytes). */
export function arrayBufferOf(buf: Buffer): ArrayBuffer {
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer
}

const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'UC', 'UN', 'UR', 'UT', 'SV', 'UV'])
const UNDEFINED = 0xffffffff
/** nesting deeper than this is not a CT header but a crafted file */
const MAX_DEPTH = 32

/**
 * Checks that every element of the data set fits in the file, sequences, items and Pixel Data (its
 * value, or its fragments) included. dcmjs trusts element lengths: a value claimed longer than the
 * file (a 40-byte file claiming 256 MB) makes it loop until the process runs out of memory; a copy
 * cut inside its pixel data would decode "successfully" with a slice of garbage or zeros. Returns
 * the problem in words, or null when the structure holds. Little endian transfer syntaxes only;
 * others (big endian, deflated) are left to dcmjs.
 */
export function dataSetLengthProblem(part10: Buffer): string | null {
  return lengthProblem(part10)?.message ?? null
}

function lengthProblem(part10: Buffer): LengthProblem | null {
  const start = dataSetStart(part10)
  if (start === null) return null
  if (start > part10.length) return new LengthProblem('the file meta group claims more bytes than the file holds')
  const syntax = metaTransferSyntax(part10.subarray(132, start))
  if (syntax !== EXPLICIT_LE && syntax !== IMPLICIT_LE && !isEncapsulatedLittleEndian(syntax)) return null
  try {
    const at = walk(part10, start, part10.length, syntax !== IMPLICIT_LE, 0)
    if (at + 8 <= part10.length) pixelDataFits(part10, at, syntax !== IMPLICIT_LE)
    return null
  } catch (e) {
    if (e instanceof LengthProblem) return e
    throw e
  }
}

class LengthProblem extends Error {
  /** the file is whole up to its image's Pixel Data, which is cut short */
  constructor(message: string, readonly inPixelData = false) {
    super(message)
  }
}

/** Where the data set starts: after the meta group, by its group length or, without one, its elements. */
function dataSetStart(b: Buffer): number | null {
  if (b.length < 132 + 12 || b.readUInt16LE(132) !== 0x0002) return null
  if (b.readUInt16LE(134) === 0 && b.toString('latin1', 136, 138) === 'UL') return 132 + 12 + b.readUInt32LE(140)
  let off = 132
  while (off + 8 <= b.length && b.readUInt16LE(off) === 0x0002) {
    const long = LONG_VRS.has(b.toString('latin1', off + 4, off + 6))
    if (long && off + 12 > b.length) return null
    off += long ? 12 + b.readUInt32LE(off + 8) : 8 + b.readUInt16LE(off + 6)
  }
  return off
}

/** The image's Pixel Data at `off`: its value, or its fragments up to the sequence delimiter, within the file. */
function pixelDataFits(b: Buffer, off: number, explicit: boolean): void {
  const header = explicit ? 12 : 8
  if (off + header > b.length) throw new LengthProblem('the file ends inside the Pixel Data element: it is incomplete', true)
  const len = b.readUInt32LE(off + header - 4)
  const at = off + header
  if (len === UNDEFINED) fragmentsEnd(b, at, b.length, true)
  else if (at + len > b.length) throw new LengthProblem(`the pixel data is cut short (${b.length - at} of ${len} bytes present): the file is incomplete`, true)
}

/** Encapsulated (compressed) pixel data from `at`: fragments of raw bytes up to the sequence delimiter; returns the offset after it. */
function fragmentsEnd(b: Buffer, at: number, end: number, image = false): number {
  for (;;) {
    if (at + 8 > end) throw new LengthProblem('the compressed pixel data has no end marker (sequence delimiter): the file is incomplete', image)
    if (b.readUInt16LE(at) !== 0xfffe) throw new LengthProblem('the compressed Pixel Data holds something other than fragments', image)
    if (b.readUInt16LE(at + 2) === 0xe0dd) return at + 8
    const n = b.readUInt32LE(at + 4)
    if (n === UNDEFINED || at + 8 + n > end) throw new LengthProblem(`a fragment of the compressed Pixel Data claims ${n === UNDEFINED ? 'an undefined length' : `${n} bytes`} but only ${end - at - 8} remain`, image)
    at += 8 + n
  }
}

/** A DICOM file's element structure does not hold (see dataSetLengthProblem). */
export class DicomStructureError extends Error {
  /** the header is whole; the image's pixel data is cut short */
  readonly inPixelData: boolean
  constructor(problem: LengthProblem) {
    super(problem.message)
    this.inPixelData = problem.inPixelData
  }
}

/**
 * dcmjs's parse of a Part 10 stream, after its element lengths, pixel data included, are checked:
 * every dcmjs parse of a file the user or a server gave goes through here. `untilPixelData` stops
 * dcmjs before Pixel Data (headers). Throws DicomStructureError, or dcmjs's error.
 */
export function parseDicomPart10(bytes: Buffer, untilPixelData: boolean): { dict: Record<string, any>; meta: Record<string, any> } {
  const problem = lengthProblem(bytes)
  if (problem) throw new DicomStructureError(problem)
  return dcmjs.data.DicomMessage.readFile(arrayBufferOf(bytes), untilPixelData ? { untilTag: '7FE00010', includeUntilTagValue: false } : undefined)
}

/** Compressed syntaxes (JPEG, JPEG 2000, RLE, ...) encode the data set as explicit VR little endian. */
function isEncapsulatedLittleEndian(syntax: string): boolean {
  return syntax.startsWith('1.2.840.10008.1.2.4.') || syntax === '1.2.840.10008.1.2.5' || syntax.startsWith('1.2.840.10008.1.2.8')
}

function metaTransferSyntax(meta: Buffer): string {
  let off = 0
  while (off + 8 <= meta.length) {
    if (meta.readUInt16LE(off) !== 0x0002) break
    const element = meta.readUInt16LE(off + 2)
    const vr = meta.toString('latin1', off + 4, off + 6)
    const long = LONG_VRS.has(vr)
    const len = long ? meta.readUInt32LE(off + 8) : meta.readUInt16LE(off + 6)
    const at = off + (long ? 12 : 8)
    if (element === 0x0010) return meta.toString('latin1', at, Math.min(meta.length, at + len)).replace(/[\0 ]+$/, '')
    off = at + len
  }
  return ''
}

const tagName = (g: number, e: number) => `(${g.toString(16).padStart(4, '0').toUpperCase()},${e.toString(16).padStart(4, '0').toUpperCase()})`

/** Walks elements from `off` to `end` (or to an item delimiter inside an undefined-length item); returns where it stopped. */
function walk(b: Buffer, off: number, end: number, explicit: boolean, depth: number): number {
  if (depth > MAX_DEPTH) throw new LengthProblem(`sequences are nested more than ${MAX_DEPTH} deep`)
  while (off + 8 <= end) {
    const group = b.readUInt16LE(off)
    const element = b.readUInt16LE(off + 2)
    if (group === 0xfffe) {
      if (element === 0xe00d) return off + 8 // item delimiter: end of an undefined-length item
      throw new LengthProblem(`an item tag ${tagName(group, element)} stands where an element should, at byte ${off}`)
    }
    if (group === 0x7fe0 && element === 0x0010 && depth === 0) return off // Pixel Data: checked on its own
    const vr = explicit ? b.toString('latin1', off + 4, off + 6) : 'UN'
    let header = 8
    let len: number
    if (!explicit) len = b.readUInt32LE(off + 4)
    else if (LONG_VRS.has(vr)) {
      if (off + 12 > end) throw new LengthProblem(`the file ends inside the header of element ${tagName(group, element)}`)
      len = b.readUInt32LE(off + 8)
      header = 12
    } else len = b.readUInt16LE(off + 6)
    const at = off + header
    if (len === UNDEFINED && group === 0x7fe0 && element === 0x0010) {
      // compressed Pixel Data inside an item (an icon image sorts before the image's own)
      off = fragmentsEnd(b, at, end)
      continue
    }
    if (len === UNDEFINED) {
      if (explicit && vr !== 'SQ' && vr !== 'UN') throw new LengthProblem(`element ${tagName(group, element)} (${vr}) has an undefined length, which only sequences may have`)
      // a sequence (or an implicit / UN one, whose items are implicit VR): walk its items to the delimiter
      off = items(b, at, end, vr === 'SQ' ? explicit : false, depth + 1, group, element)
      continue
    }
    if (at + len > end) throw new LengthProblem(`element ${tagName(group, element)} claims ${len} bytes but only ${Math.max(0, end - at)} remain in ${depth ? 'its item' : 'the file'}`)
    if (vr === 'SQ') walkItems(b, at, at + len, explicit, depth + 1, group, element)
    off = at + len
  }
  if (depth > 0 && off < end) throw new LengthProblem(`a sequence item ends inside an element, at byte ${off}`)
  return off
}

/** Items of a defined-length sequence, each within [off, end). */
function walkItems(b: Buffer, off: number, end: number, explicit: boolean, depth: number, g: number, e: number): void {
  while (off + 8 <= end) off = item(b, off, end, explicit, depth, g, e, false)
}

/** Items of an undefined-length sequence, to its delimiter; returns the offset after it. */
function items(b: Buffer, off: number, end: number, explicit: boolean, depth: number, g: number, e: number): number {
  for (;;) {
    if (off + 8 > end) throw new LengthProblem(`the file ends inside sequence ${tagName(g, e)} (no sequence delimiter)`)
    if (b.readUInt16LE(off) === 0xfffe && b.readUInt16LE(off + 2) === 0xe0dd) return off + 8
    off = item(b, off, end, explicit, depth, g, e, true)
  }
}

function item(b: Buffer, off: number, end: number, explicit: boolean, depth: number, g: number, e: number, delimited: boolean): number {
  if (b.readUInt16LE(off) !== 0xfffe || b.readUInt16LE(off + 2) !== 0xe000) {
    if (!delimited) throw new LengthProblem(`sequence ${tagName(g, e)} holds something other than items`)
    throw new LengthProblem(`sequence ${tagName(g, e)} holds something other than items (no sequence delimiter)`)
  }
  const len = b.readUInt32LE(off + 4)
  const at = off + 8
  if (len === UNDEFINED) return walk(b, at, end, explicit, depth)
  if (at + len > end) throw new LengthProblem(`an item of sequence ${tagName(g, e)} claims ${len} bytes but only ${Math.max(0, end - at)} remain`)
  walk(b, at, at + len, explicit, depth)
  return at + len
}
