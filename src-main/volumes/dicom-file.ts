/**
 * Recognising a DICOM file by its bytes, and handing dcmjs the Part 10 stream it expects.
 *
 * Most files are Part 10: a 128-byte preamble, "DICM", then the file meta group. Older archives,
 * some modality exports and `dcmconv -F` store the bare data set instead (no preamble, no meta
 * group), or the meta group without the preamble. GDCM and dcm2niix read those; dcmjs only reads
 * Part 10, so a bare data set gets a meta group naming the transfer syntax its first element shows.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs'

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
