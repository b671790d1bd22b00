/**
 * Reading volumes on the reader thread (src-main/volumes/read-thread.ts), as the hosts open CTs:
 * the same volume as reading in place (NIfTI, a DICOM folder with two series, labels), the same
 * VolumeError for bad files, several reads at once, and the main thread free while a read runs.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generatePhantom } from '../../src-shared/phantom.js'
import { VolumeError } from '../../src-main/volumes/errors.js'
import { encodeNifti, writeNifti } from '../../src-main/volumes/nifti.js'
import { writeNrrd } from '../../src-main/volumes/nrrd.js'
import { int16Hu, readCt, readLabels } from '../../src-main/volumes/read.js'
import { listDicomSeriesOffThread, readCtOffThread, readInt16CtOffThread, readLabelsOffThread } from '../../src-main/volumes/read-thread.js'
import { listDicomSeries } from '../../src-main/volumes/dicom.js'
import type { Volume } from '../../src-shared/volume.js'
import { testUid, writeDicomSeries } from '../fixtures/dicom-series.js'
import { tmpDir } from '../fixtures/cases-workspace.js'

const same = (a: Volume, b: Volume) => {
  expect({ dims: a.dims, spacing: a.spacing, origin: a.origin, direction: a.direction, meta: a.meta }).toEqual({ dims: b.dims, spacing: b.spacing, origin: b.origin, direction: b.direction, meta: b.meta })
  expect(a.data.constructor).toBe(b.data.constructor)
  expect(Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength).equals(Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength))).toBe(true)
}

/** The error a read rejects with (the test fails if it resolves). */
async function failure(p: Promise<unknown>): Promise<Error> {
  return p.then(
    () => {
      throw new Error('the read succeeded')
    },
    (e: Error) => e,
  )
}

describe('the reader thread', () => {
  let dir: string
  let ctPath: string
  let labelsPath: string
  let dicomDir: string
  let seriesB: string
  beforeAll(async () => {
    dir = tmpDir('scn-read-thread-')
    const p = generatePhantom({ dims: [48, 40, 20], spacing: [4, 4, 6], seed: 3, direction: [0, 1, 0, -1, 0, 0, 0, 0, 1] })
    ctPath = join(dir, 'ct.nii.gz')
    await writeNifti(p.ct, ctPath)
    labelsPath = join(dir, 'labels.nii.gz')
    await writeNifti(p.labels, labelsPath)
    dicomDir = join(dir, 'dicom')
    const small = generatePhantom({ dims: [24, 20, 8], spacing: [6, 6, 8], seed: 4 })
    writeDicomSeries(small.ct, join(dicomDir, 'a'), { description: 'series A' })
    seriesB = testUid()
    writeDicomSeries(generatePhantom({ dims: [24, 20, 6], spacing: [6, 6, 8], seed: 5 }).ct, join(dicomDir, 'b'), { description: 'series B', seriesUid: seriesB })
  }, 60_000)
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('gives the volume reading in place gives: NIfTI CT, NRRD (itk-wasm), labels, one series of a DICOM folder', async () => {
    same(await readCtOffThread(ctPath), await readCt(ctPath))
    const nrrd = join(dir, 'ct.nrrd')
    await writeNrrd(await readCt(ctPath), nrrd)
    same(await readCtOffThread(nrrd), await readCt(nrrd))
    same(await readLabelsOffThread(labelsPath), await readLabels(labelsPath))
    const b = await readCtOffThread(dicomDir, { seriesUid: seriesB })
    same(b, await readCt(dicomDir, { seriesUid: seriesB }))
    expect(b.dims).toEqual([24, 20, 6])
    // what the hosts ask: the folder's series, and the app's integer-HU copy with its range
    const series = await listDicomSeriesOffThread(dicomDir)
    expect(series).toEqual(listDicomSeries(dicomDir))
    expect(series.map((x) => x.description).sort()).toEqual(['series A', 'series B'])
    const int16 = await readInt16CtOffThread(ctPath)
    const here = int16Hu(await readCt(ctPath))
    same(int16.volume, here.volume)
    expect({ rounded: int16.rounded, range: int16.range }).toEqual({ rounded: here.rounded, range: here.range })
    expect(int16.volume.data).toBeInstanceOf(Int16Array)
  })

  it("carries the reader's warnings (NaN voxels read as air)", async () => {
    const p = generatePhantom({ dims: [16, 16, 4], spacing: [5, 5, 5], seed: 6 })
    const f = new Float32Array(p.ct.data)
    f[7] = Number.NaN
    const path = join(dir, 'nan.nii.gz')
    writeFileSync(path, encodeNifti({ ...p.ct, data: f }))
    const v = await readCtOffThread(path)
    expect(v.meta.warnings?.[0]).toMatch(/1 voxel\(s\) hold NaN/)
    same(v, await readCt(path))
  })

  it('rejects with the same VolumeError as reading in place: a truncated file, a missing one, an ambiguous folder', async () => {
    const truncated = join(dir, 'truncated.nii.gz')
    const bytes = readFileSync(ctPath)
    writeFileSync(truncated, bytes.subarray(0, bytes.length >> 1))
    for (const [path, opts] of [[truncated, {}], [join(dir, 'missing.nii.gz'), {}], [dicomDir, {}], [dicomDir, { seriesUid: '1.2.3' }]] as const) {
      const inPlace = await failure(readCt(path, opts))
      const off = await failure(readCtOffThread(path, opts))
      expect(off).toBeInstanceOf(VolumeError)
      expect(inPlace).toBeInstanceOf(VolumeError)
      expect({ code: (off as VolumeError).code, file: (off as VolumeError).file, message: off.message }).toEqual({
        code: (inPlace as VolumeError).code,
        file: (inPlace as VolumeError).file,
        message: inPlace.message,
      })
    }
  })

  it('answers several reads at once, each with its own volume; a relative path is read from the working directory', async () => {
    mkdirSync(join(dir, 'rel'), { recursive: true })
    const cwd = process.cwd()
    const [a, b, c] = await Promise.all([readCtOffThread(ctPath), readLabelsOffThread(labelsPath), readCtOffThread(dicomDir, { seriesUid: seriesB })])
    expect([a.dims, b.dims, c.dims]).toEqual([[48, 40, 20], [48, 40, 20], [24, 20, 6]])
    expect(b.data).toBeInstanceOf(Uint8Array)
    try {
      process.chdir(dir)
      same(await readCtOffThread('ct.nii.gz'), a)
    } finally {
      process.chdir(cwd)
    }
  })

  it('leaves the main thread free while it reads (reading in place holds it to the end)', async () => {
    const big = generatePhantom({ dims: [256, 256, 120], spacing: [1.5, 1.5, 2.5], seed: 7 })
    const path = join(dir, 'big.nii.gz')
    await writeNifti(big.ct, path)
    const ticksDuring = async (read: () => Promise<unknown>) => {
      let ticks = 0
      const timer = setInterval(() => ticks++, 1)
      try {
        await read()
      } finally {
        clearInterval(timer)
      }
      return ticks
    }
    expect(await ticksDuring(() => readCt(path))).toBe(0)
    expect(await ticksDuring(() => readCtOffThread(path))).toBeGreaterThan(0)
  }, 60_000)
})
