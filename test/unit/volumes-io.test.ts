/**
 * Volume I/O checked against independent readers: nibabel (NIfTI), dcm2niix (DICOM), itk-wasm
 * (NRRD/MHA round trips), and the compressed transfer syntaxes produced by gdcmconv.
 */
import { describe, expect, it, beforeAll } from 'vitest'
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import dcmjs from 'dcmjs'
import { writeImageNode } from '@itk-wasm/image-io'
import { readCt, readLabels, readVolume, writeVolume, describeVolume } from '../../src-main/volumes/read.js'
import { rasAffine, rotationMatrix, mat3Mul, sameGrid } from '../../src-shared/geometry.js'
import { generatePhantom } from '../../src-shared/phantom.js'
import { writeNrrd } from '../../src-main/volumes/nrrd.js'
import { listDicomSeries } from '../../src-main/volumes/dicom.js'
import type { Mat3, Volume } from '../../src-shared/volume.js'
import { sharedData, NEEDS_DATA } from '../helpers/shared-data.js'
import { hasPythonModules, runPythonJson } from '../helpers/python.js'
import { writeDicomSeries, writeEnhancedCt } from '../fixtures/dicom-series.js'
import { setEnv } from '../helpers/env.js'

const exampleCt = sharedData('totalsegmentator/example_ct.nii.gz')
const ct3 = sharedData('dcmqi/ct-3slice')
const hasNibabel = hasPythonModules('nibabel', 'numpy')
const tmp = () => mkdtempSync(join(tmpdir(), 'scn-vol-'))

function sum(a: ArrayLike<number>): number {
  let s = 0
  for (let i = 0; i < a.length; i++) s += a[i]
  return s
}

const NIBABEL_INFO = `
import sys, json, nibabel as nib, numpy as np
img = nib.load(sys.argv[1])
d = np.asanyarray(img.dataobj)
print(json.dumps({"shape": list(img.shape), "zooms": [float(z) for z in img.header.get_zooms()[:3]],
  "affine": img.affine.tolist(), "sum": float(d.astype(np.float64).sum()), "dtype": str(d.dtype)}))
`

describe('NIfTI against nibabel', () => {
  it.skipIf(!exampleCt || !hasNibabel)(`example_ct.nii.gz: shape, spacing, affine and voxel sum equal nibabel's ${exampleCt ? '' : NEEDS_DATA}`, async () => {
    const ref = runPythonJson<{ shape: number[]; zooms: number[]; affine: number[][]; sum: number }>(NIBABEL_INFO, [exampleCt!])
    const v = await readCt(exampleCt!)
    expect(v.dims).toEqual(ref.shape)
    v.spacing.forEach((s, i) => expect(s).toBeCloseTo(ref.zooms[i], 5))
    const a = rasAffine(v)
    ref.affine.flat().forEach((x, i) => expect(a[i]).toBeCloseTo(x, 4))
    expect(sum(v.data)).toBe(ref.sum)
  })

  it.skipIf(!exampleCt)('scn-studio info --json matches nibabel shape, spacing and affine', async () => {
    const r = spawnSync('node', ['bin/scn-studio.mjs', 'info', '--json', exampleCt!], { encoding: 'utf8' })
    expect(r.status, r.stderr).toBe(0)
    const info = JSON.parse(r.stdout)
    const ref = runPythonJson<{ shape: number[]; zooms: number[]; affine: number[][] }>(NIBABEL_INFO, [exampleCt!])
    expect(info.dims).toEqual(ref.shape)
    info.spacing.forEach((s: number, i: number) => expect(s).toBeCloseTo(ref.zooms[i], 5))
    ref.affine.flat().forEach((x, i) => expect(info.affineRas[i]).toBeCloseTo(x, 4))
    expect(info.orientation).toBe('RAS')
  })

  it.skipIf(!hasNibabel)('a label volume we write (oblique, flipped) reads back in nibabel with the same affine and voxels', async () => {
    const dir = tmp()
    const direction = mat3Mul(rotationMatrix([0.3, 1, 0.2], 0.4), [-1, 0, 0, 0, 1, 0, 0, 0, -1] as Mat3)
    const { labels } = generatePhantom({ dims: [40, 36, 30], spacing: [7, 8, 9], direction, noise: 0, centre: [3, -4, 12.5] })
    const file = join(dir, 'labels.nii.gz')
    await writeVolume(labels, file)
    const ref = runPythonJson<{ shape: number[]; affine: number[][]; sum: number; dtype: string }>(NIBABEL_INFO, [file])
    expect(ref.shape).toEqual(labels.dims)
    expect(ref.dtype).toBe('uint8')
    const a = rasAffine(labels)
    ref.affine.flat().forEach((x, i) => expect(a[i]).toBeCloseTo(x, 4))
    expect(ref.sum).toBe(sum(labels.data))
    expect(sum(labels.data)).toBeGreaterThan(1000)
    // and exact voxel-by-voxel equality, through nibabel's array order (Fortran = x fastest)
    const same = runPythonJson<boolean>(
      `import sys, json, nibabel as nib, numpy as np\nd=np.asanyarray(nib.load(sys.argv[1]).dataobj)\nraw=np.fromfile(sys.argv[2], dtype=np.uint8)\nprint(json.dumps(bool((d.flatten(order='F')==raw).all())))`,
      [file, writeRaw(dir, labels.data)],
    )
    expect(same).toBe(true)
    const back = await readLabels(file)
    expect(sameGrid(back, labels, 1e-4)).toBe(true)
    expect(Buffer.compare(Buffer.from(back.data), Buffer.from(labels.data))).toBe(0)
  })
})

function writeRaw(dir: string, data: Uint8Array): string {
  const p = join(dir, 'raw.bin')
  writeFileSync(p, data)
  return p
}

/**
 * dcm2niix's conversion of `dicom` against our volume `v`: their voxel grid mapped onto ours through
 * both affines (it may flip axes), then the largest HU difference.
 */
function againstDcm2niix(dicom: string, v: Volume): { maxAbsDiff: number; sameGrid: boolean } {
  const out = tmp()
  const r = spawnSync('dcm2niix', ['-z', 'n', '-f', 'ref', '-o', out, dicom], { encoding: 'utf8' })
  expect(r.status, r.stderr).toBe(0)
  const raw = join(out, 'ours.bin')
  writeFileSync(raw, Buffer.from(v.data.buffer))
  return runPythonJson<{ maxAbsDiff: number; sameGrid: boolean }>(
    `import sys, json, nibabel as nib, numpy as np
img = nib.load(sys.argv[1]); ours = np.array(json.loads(sys.argv[2])).reshape(4,4)
theirs = np.asanyarray(img.dataobj).astype(np.float64) * 1.0
T = np.linalg.inv(ours) @ img.affine   # their index -> our index
P = np.round(T[:3,:3]); t = np.round(T[:3,3])
ok = bool(np.allclose(T[:3,:3], P, atol=1e-3) and np.allclose(T[:3,3], t, atol=1e-2))
shape = tuple(int(x) for x in json.loads(sys.argv[4]))
o = np.fromfile(sys.argv[3], dtype=np.int16).reshape(shape[::-1]).transpose(2,1,0)
idx = np.indices(theirs.shape).reshape(3,-1)
mapped = (P @ idx + t[:,None]).astype(int)
mine = o[mapped[0], mapped[1], mapped[2]].reshape(theirs.shape)
print(json.dumps({"maxAbsDiff": float(np.abs(mine - theirs).max()), "sameGrid": ok}))`,
    [join(out, 'ref.nii'), JSON.stringify(rasAffine(v)), raw, JSON.stringify(v.dims)],
  )
}

describe('DICOM against dcm2niix', () => {
  it.skipIf(!ct3 || !hasNibabel)(`ct-3slice: geometry and voxels equal dcm2niix's conversion ${ct3 ? '' : NEEDS_DATA}`, async () => {
    const v = await readCt(ct3!)
    expect(v.dims).toEqual([512, 512, 3])
    expect(againstDcm2niix(ct3!, v)).toEqual({ maxAbsDiff: 0, sameGrid: true })
  })

  it.skipIf(!ct3)('compressed transfer syntaxes (JPEG 2000, JPEG-LS, JPEG lossless, RLE) decode to the same HU', async () => {
    const plain = await readCt(ct3!)
    const tools: [string, string[]][] = [
      ['jpeg2000', ['gdcmconv', '--j2k']],
      ['jpeg-ls', ['gdcmconv', '--jpegls']],
      ['jpeg-lossless', ['dcmcjpeg', '+e1']],
      ['rle', ['dcmcrle']],
    ]
    for (const [name, [tool, ...args]] of tools) {
      const dir = join(tmp(), name)
      mkdirSync(dir)
      for (const f of readdirSync(ct3!)) {
        const r = spawnSync(tool, [...args, join(ct3!, f), join(dir, f)], { encoding: 'utf8' })
        expect(r.status, `${tool}: ${r.stderr}`).toBe(0)
      }
      const v = await readCt(dir)
      expect(v.dims, name).toEqual(plain.dims)
      expect(Buffer.compare(Buffer.from(v.data.buffer), Buffer.from(plain.data.buffer)), name).toBe(0)
    }
  })

  it('a phantom written as DICOM reads back with its geometry and HU', async () => {
    const direction = rotationMatrix([0, 0, 1], Math.PI / 2)
    const { ct } = generatePhantom({ dims: [48, 40, 12], spacing: [4, 4, 5], direction, noise: 0 })
    const dir = tmp()
    writeDicomSeries(ct, dir)
    const v = await readCt(dir)
    expect(sameGrid(v, ct, 1e-3)).toBe(true)
    expect(Buffer.compare(Buffer.from(v.data.buffer), Buffer.from(ct.data.buffer))).toBe(0)
  })

  it('slices rescaled each their own way (slope and intercept per slice) read back with their HU, as dcm2niix reads them', async () => {
    // a series reader maps every slice with one file's rescale: every other slice was off by 1000 HU
    const { ct } = generatePhantom({ dims: [40, 36, 8], spacing: [5, 5, 5], noise: 0 })
    const dir = tmp()
    writeDicomSeries(ct, dir, { rescale: (k) => (k % 2 ? { slope: 0.5, intercept: -2024 } : { slope: 1, intercept: -1024 }) })
    const v = await readCt(dir)
    expect(sameGrid(v, ct, 1e-3)).toBe(true)
    let worst = 0
    for (let i = 0; i < ct.data.length; i++) worst = Math.max(worst, Math.abs(v.data[i] - ct.data[i]))
    expect(worst).toBe(0)
    if (!hasNibabel) return
    // dcm2niix (the independent reader) agrees voxel for voxel
    const out = tmp()
    const r = spawnSync('dcm2niix', ['-z', 'n', '-f', 'ref', '-o', out, dir], { encoding: 'utf8' })
    expect(r.status, r.stderr).toBe(0)
    const theirs = runPythonJson<number[]>(
      `import sys, json, nibabel as nib, numpy as np
img = nib.as_closest_canonical(nib.load(sys.argv[1])); d = np.asanyarray(img.get_fdata())
print(json.dumps([float(d[:, :, k].sum()) for k in range(d.shape[2])]))`,
      [join(out, 'ref.nii')],
    )
    const [nx, ny, nz] = ct.dims
    const mine = Array.from({ length: nz }, (_, k) => {
      let sum = 0
      for (let i = k * nx * ny; i < (k + 1) * nx * ny; i++) sum += ct.data[i]
      return sum
    })
    expect(theirs.map(Math.round)).toEqual(mine)
  })

  it('an Enhanced CT (one file, the slices its frames, stored out of order) reads as the series it holds; dcm2niix agrees', async () => {
    const direction = rotationMatrix([0, 0, 1], Math.PI / 2)
    const { ct } = generatePhantom({ dims: [40, 36, 9], spacing: [5, 5, 4], direction, noise: 0 })
    const dir = tmp()
    const file = join(dir, 'enhanced')
    writeEnhancedCt(ct, file, { frameOrder: [4, 0, 8, 2, 6, 1, 3, 7, 5] })
    const v = await readCt(file)
    expect(sameGrid(v, ct, 1e-3)).toBe(true)
    expect(Buffer.compare(Buffer.from(v.data.buffer), Buffer.from(ct.data.buffer))).toBe(0)
    if (hasNibabel) expect(againstDcm2niix(dir, v)).toEqual({ maxAbsDiff: 0, sameGrid: true })
    // frames rescaled each their own way are refused in words, not read with one frame's rescale
    const mixed = join(tmp(), 'mixed')
    writeEnhancedCt(ct, mixed, { perFrameIntercept: (k) => (k % 2 ? -2024 : -1024) })
    await expect(readCt(mixed)).rejects.toThrow(/rescaled each their own way \(per-frame Rescale Slope\/Intercept\)/)
    // ...and so are frames tilted each their own way (slice 3 is frame 4): one grid with frame 1's orientation would misplace them
    const tilted = join(tmp(), 'tilted')
    writeEnhancedCt(ct, tilted, { perFrameOrientation: (k) => (k === 3 ? [1, 0, 0, 0, 0.996195, -0.087156] : undefined) })
    await expect(readCt(tilted)).rejects.toThrow(/tilted: frame 4 of this enhanced multi-frame image differs from frame 1 in orientation or pixel spacing \(.*1\\0\\0\\0\\0\.996195\\-0\.087156/)
    // rounding noise in per-frame orientations (scanners write it) is within the tolerance series get
    const noisy = join(tmp(), 'noisy')
    writeEnhancedCt(ct, noisy, { perFrameOrientation: (k) => [1, k % 2 ? 0.00001 : -0.00001, 0, 0, 1, 0] })
    expect((await readCt(noisy)).dims).toEqual([40, 36, 9])
  })

  it('a single-frame Enhanced CT reads (its position is in its one per-frame group); dcm2niix agrees', async () => {
    const { ct } = generatePhantom({ dims: [40, 36, 1], spacing: [5, 5, 4], noise: 0 })
    const dir = tmp()
    writeEnhancedCt(ct, join(dir, 'one-frame'))
    const v = await readCt(join(dir, 'one-frame'))
    expect(sameGrid(v, ct, 1e-3)).toBe(true)
    expect(Buffer.compare(Buffer.from(v.data.buffer), Buffer.from(ct.data.buffer))).toBe(0)
    if (hasNibabel) expect(againstDcm2niix(dir, v)).toEqual({ maxAbsDiff: 0, sameGrid: true })
  })

  it.each([
    ['CT Image', '1.2.840.10008.5.1.4.1.1.2'],
    ['Multi-frame Grayscale Word Secondary Capture', '1.2.840.10008.5.1.4.1.1.7.3'],
  ])('a legacy multi-frame %s (one file, frames without functional groups) keeps the spacing between its frames, not its slice thickness', async (_name, sop) => {
    const [nx, ny, nz] = [16, 16, 5]
    const px = new Uint16Array(nx * ny * nz)
    for (let k = 0; k < nz; k++) px.fill(1024 + 100 * k, k * nx * ny, (k + 1) * nx * ny)
    const meta = { FileMetaInformationVersion: new Uint8Array([0, 1]).buffer, MediaStorageSOPClassUID: sop, MediaStorageSOPInstanceUID: '2.25.99', TransferSyntaxUID: '1.2.840.10008.1.2.1', ImplementationClassUID: '2.25.1234' }
    const dict = new dcmjs.data.DicomDict(dcmjs.data.DicomMetaDictionary.denaturalizeDataset(meta))
    // overlapping reconstructions: 5 mm thick slices every 2.5 mm (dcm2niix reads 2.5)
    dict.dict = dcmjs.data.DicomMetaDictionary.denaturalizeDataset({
      SOPClassUID: sop, SOPInstanceUID: '2.25.99', StudyInstanceUID: '2.25.1', SeriesInstanceUID: '2.25.2', FrameOfReferenceUID: '2.25.3', Modality: 'CT',
      NumberOfFrames: nz, Rows: ny, Columns: nx, SamplesPerPixel: 1, PhotometricInterpretation: 'MONOCHROME2', BitsAllocated: 16, BitsStored: 16, HighBit: 15, PixelRepresentation: 0,
      RescaleIntercept: -1024, RescaleSlope: 1, ImagePositionPatient: [0, 0, 0], ImageOrientationPatient: [1, 0, 0, 0, 1, 0], PixelSpacing: [1, 1], SliceThickness: 5, SpacingBetweenSlices: 2.5,
    })
    dict.dict['7FE00010'] = { vr: 'OW', Value: [px.buffer] }
    const dir = tmp()
    const file = join(dir, 'legacy-mf.dcm')
    writeFileSync(file, Buffer.from(dict.write()))
    const v = await readCt(file)
    expect(v.dims).toEqual([nx, ny, nz])
    expect(v.spacing).toEqual([1, 1, 2.5])
    if (hasNibabel) expect(againstDcm2niix(dir, v)).toEqual({ maxAbsDiff: 0, sameGrid: true })
    expect([0, 1, 2, 3, 4].map((k) => v.data[k * nx * ny])).toEqual([0, 100, 200, 300, 400])
  })

  it('DICOM without the Part 10 preamble (bare data sets from dcmconv -F, explicit and implicit VR; meta group only) reads as its original; dcm2niix agrees', async () => {
    const { ct } = generatePhantom({ dims: [40, 36, 7], spacing: [5, 5, 4], noise: 0 })
    const original = tmp()
    writeDicomSeries(ct, original)
    const files = readdirSync(original).sort()
    const forms: Record<string, (src: string, dst: string) => void> = {
      'bare-explicit': (src, dst) => expect(spawnSync('dcmconv', ['-F', '+te', src, dst], { encoding: 'utf8' }).status).toBe(0),
      'bare-implicit': (src, dst) => expect(spawnSync('dcmconv', ['-F', '+ti', src, dst], { encoding: 'utf8' }).status).toBe(0),
      'no-preamble': (src, dst) => writeFileSync(dst, readFileSync(src).subarray(132)),
    }
    const bareDirs: string[] = []
    for (const [name, convert] of Object.entries(forms)) {
      const dir = join(tmp(), name)
      bareDirs.push(dir)
      mkdirSync(dir)
      // every other file converted (a mixed folder), named without an extension as archives name them
      files.forEach((f, k) => (k % 2 ? writeFileSync(join(dir, `IM${k}`), readFileSync(join(original, f))) : convert(join(original, f), join(dir, `IM${k}`))))
      expect(readFileSync(join(dir, 'IM0')).toString('latin1', 128, 132), name).not.toBe('DICM')
      // a binary file that starts like a data set but is none is passed over, not fatal
      writeFileSync(join(dir, 'junk'), Buffer.concat([Buffer.from([0x08, 0, 0x10, 0, 4, 0, 0, 0]), Buffer.alloc(300, 0x5a)]))
      const v = await readCt(dir)
      expect(sameGrid(v, ct, 1e-3), name).toBe(true)
      expect(Buffer.compare(Buffer.from(v.data.buffer), Buffer.from(ct.data.buffer)), name).toBe(0)
      if (hasNibabel) expect(againstDcm2niix(dir, v), name).toEqual({ maxAbsDiff: 0, sameGrid: true })
      // one such file opened by itself: recognised by its bytes, not its name
      expect((await readCt(join(dir, 'IM0'))).dims, name).toEqual([40, 36, 1])
    }
    // no temporary folder to copy into: refused in words naming the file and the problem
    const restoreEnv = setEnv({ TMPDIR: join(original, files[0]) })
    try {
      await expect(readCt(bareDirs[0])).rejects.toThrow(/IM0: a Part 10 copy of this bare DICOM data set could not be written to the temporary folder/)
    } finally {
      restoreEnv()
    }
  })

  it('a folder with two series lists both and reads the one asked for', async () => {
    const dir = tmp()
    const a = generatePhantom({ dims: [32, 32, 6], spacing: [8, 8, 8], noise: 0 }).ct
    const b = generatePhantom({ dims: [24, 24, 5], spacing: [10, 10, 10], noise: 0 }).ct
    writeDicomSeries(a, join(dir, 'a'), { seriesUid: '2.25.111', description: 'venous' })
    writeDicomSeries(b, join(dir, 'b'), { seriesUid: '2.25.222', description: 'arterial' })
    const list = listDicomSeries(dir)
    expect(list.map((s) => [s.seriesUid, s.sliceCount, s.description]).sort()).toEqual([
      ['2.25.111', 6, 'venous'],
      ['2.25.222', 5, 'arterial'],
    ])
    await expect(readCt(dir)).rejects.toThrow(/holds 2 series; choose one/)
    const vb = await readCt(dir, { seriesUid: '2.25.222' })
    expect(vb.dims).toEqual([24, 24, 5])
    const info = await describeVolume(dir, { seriesUid: '2.25.111' })
    expect(info.series).toHaveLength(2)
    expect(info.dims).toEqual([32, 32, 6])
  })
})

describe('NRRD and MetaImage round trips', () => {
  let phantom: ReturnType<typeof generatePhantom>
  beforeAll(() => {
    const direction = mat3Mul(rotationMatrix([1, 0.5, 0.2], 0.5), [1, 0, 0, 0, -1, 0, 0, 0, 1] as Mat3)
    phantom = generatePhantom({ dims: [30, 34, 26], spacing: [9, 8.5, 10.25], direction, noise: 5, centre: [10.125, -3.5, 7] })
  })

  it('CT and labels through .nrrd keep exact geometry and voxels (read back by itk-wasm)', async () => {
    const dir = tmp()
    for (const vol of [phantom.ct, phantom.labels]) {
      const f = join(dir, `v${vol.data.constructor.name}.nrrd`)
      await writeNrrd(vol, f, { Segment0_Name: 'liver' })
      const back = await readVolume(f)
      expect(back.data.constructor).toBe(vol.data.constructor)
      expect(sameGrid(back, vol, 1e-9)).toBe(true)
      expect(Buffer.compare(Buffer.from(back.data.buffer), Buffer.from(vol.data.buffer))).toBe(0)
    }
  })

  it('CT through .nii.gz keeps geometry to float32 precision and voxels exactly', async () => {
    const f = join(tmp(), 'ct.nii.gz')
    await writeVolume(phantom.ct, f)
    const back = await readCt(f)
    expect(sameGrid(back, phantom.ct, 1e-4)).toBe(true)
    expect(Buffer.compare(Buffer.from(back.data.buffer), Buffer.from(phantom.ct.data.buffer))).toBe(0)
  })

  it('a .NII.GZ name in capitals is gzip too, and a .nii plain: other readers go by the name', async () => {
    const dir = tmp()
    for (const [name, gz] of [['CT.NII.GZ', true], ['ct.Nii.Gz', true], ['CT.NII', false]] as const) {
      await writeVolume(phantom.labels, join(dir, name))
      const head = readFileSync(join(dir, name)).subarray(0, 4)
      expect(head[0] === 0x1f && head[1] === 0x8b, name).toBe(gz)
      if (!gz) expect(head.readInt32LE(0), name).toBe(348) // sizeof_hdr: a plain NIfTI-1
    }
  })

  it('reads a MetaImage (.mha) written by ITK', async () => {
    const f = join(tmp(), 'ct.mha')
    const v = phantom.ct
    await writeImageNode(
      {
        imageType: { dimension: 3, componentType: 'int16', pixelType: 'Scalar', components: 1 },
        name: 'ct', origin: [...v.origin], spacing: [...v.spacing], direction: new Float64Array(v.direction),
        size: [...v.dims], data: v.data, metadata: new Map(),
      },
      f,
    )
    const back = await readCt(f)
    expect(sameGrid(back, v, 1e-6)).toBe(true)
    expect(Buffer.compare(Buffer.from(back.data.buffer), Buffer.from(v.data.buffer))).toBe(0)
  })

  it.skipIf(!sharedData('dcmqi/liver_seg.nrrd'))('reads a Slicer-made labelmap NRRD on the CT grid', async () => {
    const seg = await readLabels(sharedData('dcmqi/liver_seg.nrrd')!)
    const ct = await readCt(ct3!)
    expect(sameGrid(seg, ct, 1e-3)).toBe(true)
    expect(sum(seg.data)).toBeGreaterThan(0)
  })
})
