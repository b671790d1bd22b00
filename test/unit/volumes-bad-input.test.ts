/**
 * Every way a user's file can be broken gives a typed VolumeError that names the file and says
 * the problem in words, never a crash or a hang.
 */
import { describe, expect, it } from 'vitest'
import { mkdtempSync, writeFileSync, readFileSync, unlinkSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { readCt } from '../../src-main/volumes/read.js'
import { VolumeError, type VolumeErrorCode } from '../../src-main/volumes/errors.js'
import { encodeNifti } from '../../src-main/volumes/nifti.js'
import { generatePhantom } from '../../src-shared/phantom.js'
import { indexToWorld } from '../../src-shared/geometry.js'
import { writeDicomSeries } from '../fixtures/dicom-series.js'

const tmp = () => mkdtempSync(join(tmpdir(), 'scn-bad-'))
const small = () => generatePhantom({ dims: [24, 20, 8], spacing: [10, 10, 10], noise: 0 }).ct

async function expectVolumeError(path: string, code: VolumeErrorCode, message: RegExp): Promise<VolumeError> {
  let err: unknown
  try {
    await readCt(path)
  } catch (e) {
    err = e
  }
  expect(err, `expected ${code} for ${path}`).toBeInstanceOf(VolumeError)
  const ve = err as VolumeError
  expect(ve.code).toBe(code)
  expect(ve.message.startsWith(path)).toBe(true)
  expect(ve.message).toMatch(message)
  return ve
}

describe('broken NIfTI files', () => {
  it('zero-byte file', async () => {
    const f = join(tmp(), 'empty.nii.gz')
    writeFileSync(f, '')
    await expectVolumeError(f, 'empty-file', /file is empty \(0 bytes\)/)
  })

  it('missing file', async () => {
    await expectVolumeError(join(tmp(), 'nope.nii.gz'), 'not-found', /does not exist/)
  })

  it('truncated gzip', async () => {
    const f = join(tmp(), 'cut.nii.gz')
    const whole = encodeNifti(small(), true)
    writeFileSync(f, whole.subarray(0, Math.floor(whole.length / 2)))
    await expectVolumeError(f, 'truncated', /gzip stream ends early.*incomplete/)
  })

  it('wrong magic', async () => {
    const f = join(tmp(), 'magic.nii')
    const b = encodeNifti(small(), false)
    b.write('xyz', 344, 'latin1')
    writeFileSync(f, b)
    await expectVolumeError(f, 'bad-format', /not a NIfTI-1 file \(magic "xyz"/)
  })

  it('not a NIfTI at all', async () => {
    const f = join(tmp(), 'text.nii')
    writeFileSync(f, 'hello '.repeat(100))
    await expectVolumeError(f, 'bad-format', /not a NIfTI file/)
  })

  it('header dims that do not match the data', async () => {
    const f = join(tmp(), 'dims.nii.gz')
    const b = encodeNifti(small(), false)
    b.writeInt16LE(200, 42) // dim[1]: 24 -> 200
    writeFileSync(f, gzipSync(b))
    await expectVolumeError(f, 'dims-mismatch', /promises 200×20×8 int16 voxels.*holds only/)
  })

  it.each([
    ['NaN', Number.NaN],
    ['zero', 0],
  ])('%s spacing', async (_name, value) => {
    const f = join(tmp(), 'spacing.nii')
    const b = encodeNifti(small(), false)
    b.writeFloatLE(value, 80) // pixdim[1]
    b.writeInt16LE(0, 254) // no sform, so pixdim matters
    b.writeInt16LE(0, 252)
    writeFileSync(f, b)
    await expectVolumeError(f, 'bad-spacing', /voxel spacing is invalid/)
  })

  it('a negative pixdim is a size with a stray sign (as nibabel reads it): with the sform the geometry is the sform\'s, without forms its size', async () => {
    const ct = small()
    const withSform = encodeNifti(ct, false)
    withSform.writeFloatLE(-10, 80) // pixdim[1]
    const f1 = join(tmp(), 'negative-pixdim-sform.nii')
    writeFileSync(f1, withSform)
    const a = await readCt(f1)
    expect(a.spacing).toEqual(ct.spacing)
    expect(a.direction).toEqual(ct.direction)
    expect(a.origin.map((v) => Number(v.toFixed(3)))).toEqual(ct.origin.map((v) => Number(v.toFixed(3))))
    const noForms = Buffer.from(withSform)
    noForms.writeInt16LE(0, 254)
    noForms.writeInt16LE(0, 252)
    const f2 = join(tmp(), 'negative-pixdim-no-forms.nii')
    writeFileSync(f2, noForms)
    const b = await readCt(f2)
    expect(b.spacing).toEqual([10, 10, 10])
    // and with no orientation at all, the reader says so (a and its sform: no warning)
    expect(b.meta?.warnings?.join(' ')).toMatch(/states no orientation \(sform and qform codes 0\)/)
    expect(a.meta?.warnings ?? []).toEqual([])
  })

  it('a single DICOM slice gets its Slice Thickness as z spacing (no neighbour to measure it from)', async () => {
    const d = tmp()
    writeDicomSeries(generatePhantom({ dims: [24, 20, 3], spacing: [10, 10, 7.5], noise: 0 }).ct, d, { skip: [0, 2] })
    expect((await readCt(d)).spacing).toEqual([10, 10, 7.5])
  })

  it('a volume too large for memory is refused before allocating', async () => {
    const f = join(tmp(), 'huge.nii')
    const b = encodeNifti(small(), false)
    b.writeInt16LE(30000, 42)
    b.writeInt16LE(30000, 44)
    b.writeInt16LE(30000, 46)
    writeFileSync(f, b)
    await expectVolumeError(f, 'too-large', /too large to open: 30000×30000×30000 voxels would need .* GiB/)
  })

  it('a 4-D series is explained, not misread', async () => {
    const f = join(tmp(), 'fourd.nii')
    const b = encodeNifti(small(), false)
    b.writeInt16LE(4, 40)
    b.writeInt16LE(2, 48)
    writeFileSync(f, b)
    await expectVolumeError(f, 'unsupported', /4-D image/)
  })
})

describe('broken NRRD / unknown files', () => {
  it('truncated NRRD', async () => {
    const f = join(tmp(), 'cut.nrrd')
    writeFileSync(f, 'NRRD0004\ntype: short\ndimension: 3\nsizes: 100 100 100\nencoding: raw\nendian: little\n\n' + 'x'.repeat(50))
    await expectVolumeError(f, 'bad-format', /NRRD file could not be read/)
  })

  it('unknown extension', async () => {
    const f = join(tmp(), 'scan.jpg')
    writeFileSync(f, 'x')
    await expectVolumeError(f, 'unsupported', /unknown file type/)
  })
})

describe('broken DICOM series', () => {
  const series = (opts: Parameters<typeof writeDicomSeries>[2]) => {
    const d = tmp()
    writeDicomSeries(small(), d, opts)
    return d
  }

  it('a missing slice', async () => {
    await expectVolumeError(series({ skip: [4] }), 'missing-slice', /1 slice\(s\) missing between slice0003\.dcm and slice0005\.dcm \(.* mm along the slice normal\): gap 20.00 mm, usual spacing 10.00 mm/)
  })

  it('a duplicated slice', async () => {
    await expectVolumeError(series({ duplicate: [3] }), 'duplicate-slice', /two slices sit at the same position/)
  })

  it('unequal slice spacing', async () => {
    await expectVolumeError(series({ jitter: { 5: 3 } }), 'uneven-spacing', /slice spacing is not uniform: gap of 13.00 mm/)
  })

  it('positions rounded to 0.01 mm in a 0.667 mm stack are one regular stack, with the fitted spacing', async () => {
    const ct = generatePhantom({ dims: [24, 20, 30], spacing: [10, 10, 2 / 3], noise: 0 }).ct
    const jitter: Record<number, number> = {}
    for (let k = 0; k < 30; k++) {
      const z = indexToWorld(ct, [0, 0, k])[2]
      jitter[k] = Number(z.toFixed(2)) - z
    }
    const d = tmp()
    writeDicomSeries(ct, d, { jitter })
    const v = await readCt(d)
    expect(v.dims).toEqual([24, 20, 30])
    expect(Math.abs(v.spacing[2] - 2 / 3)).toBeLessThan(1e-3)
    // a slice 0.1 mm out of place in the same stack is not rounding
    const d2 = tmp()
    writeDicomSeries(ct, d2, { jitter: { ...jitter, 12: jitter[12] + 0.1 } })
    await expectVolumeError(d2, 'uneven-spacing', /slice spacing is not uniform/)
  })

  it('a DICOMDIR given as the CT: refused in words, naming the folder to open instead (which opens)', async () => {
    const d = series({})
    // an index file by its name; its content does not matter to the check
    writeFileSync(join(d, 'DICOMDIR'), readFileSync(join(d, readdirSync(d).sort()[0])))
    await expectVolumeError(join(d, 'DICOMDIR'), 'unsupported', new RegExp(`this is a DICOMDIR.*open the folder that holds it \\(${d.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)`))
    expect((await readCt(d)).dims).toEqual(small().dims)
  })

  it('a non-CT modality', async () => {
    await expectVolumeError(series({ modality: 'MR' }), 'wrong-modality', /the series is MR, not CT/)
  })

  it('a DICOM without pixel data', async () => {
    const d = series({ noPixelData: true })
    const err = await readCt(d).catch((e) => e)
    expect(err).toBeInstanceOf(VolumeError)
    expect(err.code).toBe('no-pixel-data')
    expect(err.message).toMatch(/slice0000\.dcm: the DICOM file has no pixel data/)
  })

  it('a folder without DICOM files', async () => {
    const d = tmp()
    writeFileSync(join(d, 'notes.txt'), 'hello')
    await expectVolumeError(d, 'no-dicom', /no DICOM files found \(1 other files/)
  })

  it('a DICOM file whose pixel data is cut short', async () => {
    const d = series({})
    const f = join(d, readdirSync(d)[2])
    const b = readFileSync(f)
    writeFileSync(f, b.subarray(0, b.length - 300))
    const err = await readCt(d).catch((e) => e)
    expect(err).toBeInstanceOf(VolumeError)
    expect(err.code).toBe('truncated')
    expect(err.message).toMatch(/slice0002\.dcm: the pixel data is cut short \(\d+ of \d+ bytes present\)/)
  })

  it.each([200, 300, 400, 600, 900])('a DICOM file cut inside its header at byte %i', async (cut) => {
    const d = series({})
    const f = join(d, readdirSync(d)[2])
    const b = readFileSync(f)
    unlinkSync(f)
    writeFileSync(f, b.subarray(0, cut))
    const err = await readCt(d).catch((e) => e)
    expect(err).toBeInstanceOf(VolumeError)
    // depending on where the cut falls: a parse error, a header without its image attributes, or cut pixel data
    expect(err.message).toMatch(/slice0002\.dcm: (the DICOM header is damaged|the DICOM file ends before its image attributes|the pixel data is cut short|the file ends inside the Pixel Data)/)
  })

})
