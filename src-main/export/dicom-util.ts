/** What the DICOM writers share: UIDs, DS strings, dates and the Part 10 file encoding (dcmjs). */
import { randomBytes } from 'node:crypto'
import dcmjs from 'dcmjs'

dcmjs.log?.setLevel?.('error')

export const EXPLICIT_LE = '1.2.840.10008.1.2.1'
export const IMPLEMENTATION_CLASS_UID = '2.25.270270135813412331866744052453406117217'
export const IMPLEMENTATION_VERSION = 'SCN_STUDIO_010'

/** A DICOM UID from 128 random bits (the 2.25 root, ISO/IEC 9834-8). */
export function newUid(): string {
  return `2.25.${BigInt(`0x${randomBytes(16).toString('hex')}`).toString()}`
}

/** DS values are at most 16 characters. */
export function ds(x: number): string {
  if (Object.is(x, -0) || Math.abs(x) < 1e-12) return '0'
  for (let p = 12; p > 3; p--) {
    const s = String(Number(x.toPrecision(p)))
    if (s.length <= 16) return s
  }
  return x.toExponential(6)
}

export function dicomDate(d: Date): { date: string; time: string } {
  const p = (n: number, w = 2) => String(n).padStart(w, '0')
  return { date: `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}`, time: `${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}` }
}

/** A Part 10 file (explicit VR little endian) of a naturalized dataset plus raw pixel data. */
export function encodePart10(dataset: Record<string, unknown>, pixels: { vr: 'OB' | 'OW'; buffer: ArrayBufferLike }): Uint8Array {
  const meta = {
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: dataset.SOPClassUID,
    MediaStorageSOPInstanceUID: dataset.SOPInstanceUID,
    TransferSyntaxUID: EXPLICIT_LE,
    ImplementationClassUID: IMPLEMENTATION_CLASS_UID,
    ImplementationVersionName: IMPLEMENTATION_VERSION,
  }
  const dict = new dcmjs.data.DicomDict(dcmjs.data.DicomMetaDictionary.denaturalizeDataset(meta))
  dict.dict = dcmjs.data.DicomMetaDictionary.denaturalizeDataset(dataset)
  dict.dict['7FE00010'] = { vr: pixels.vr, Value: [pixels.buffer] }
  return new Uint8Array(dict.write())
}
