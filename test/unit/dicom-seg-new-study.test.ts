/**
 * DICOM SEG from any source (issue 11 item 3). A SEG references its source images by UID, so a
 * source it cannot reference (a NIfTI CT, an anonymised series with blanked UIDs) is refused by
 * name; with --new-study the CT becomes a new DICOM series plus a SEG that references it. Checked
 * by independent tools: dciodvfy (no Error lines, every CT file and the SEG), dcm2niix + nibabel
 * (the written series lies on the source's grid with the same HU), dcmjs (the SEG's references).
 */
import { describe, expect, it } from 'vitest'
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import dcmjs from 'dcmjs'
import { generatePhantom } from '../../src-shared/phantom.js'
import { readCt } from '../../src-main/volumes/read.js'
import { writeNifti } from '../../src-main/volumes/nifti.js'
import { sameGrid } from '../../src-shared/geometry.js'
import type { CtVolume, Mat3 } from '../../src-shared/volume.js'
import { defaultLabelTable } from '../../src-main/cases/index.js'
import { readDicomSeg } from '../../src-main/export/index.js'
import { writeDicomSeries, writeEnhancedCt } from '../fixtures/dicom-series.js'
import { tmpDir } from '../fixtures/cases-workspace.js'
import { hasPythonModules, runPythonJson } from '../helpers/python.js'
import { NEEDS_DATA, sharedData } from '../helpers/shared-data.js'

const has = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0
const hasTools = has('dciodvfy') && has('dcm2niix') && hasPythonModules('nibabel', 'numpy')
const TOOLS = 'needs dciodvfy, dcm2niix and python3 with nibabel'
const exampleCt = sharedData('totalsegmentator/example_ct.nii.gz')

const CLI = (args: string[]) => spawnSync(process.execPath, ['bin/scn-studio.mjs', ...args], { encoding: 'utf8' })

function dciodvfyErrors(file: string): string[] {
  const r = spawnSync('dciodvfy', [file], { encoding: 'utf8' })
  return `${r.stdout}${r.stderr}`.split('\n').filter((l) => /^Error/.test(l)).map((l) => `${file}: ${l}`)
}

function naturalized(file: string): Record<string, any> {
  const buf = readFileSync(file)
  return dcmjs.data.DicomMetaDictionary.naturalizeDataset(dcmjs.data.DicomMessage.readFile(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength), { untilTag: '7FE00010' }).dict)
}

/** dcm2niix's reading of a DICOM folder against a NIfTI of the source, both in nibabel's closest canonical orientation. */
const COMPARE = `
import sys, json, glob, nibabel as nib, numpy as np
a = nib.as_closest_canonical(nib.load(glob.glob(sys.argv[1] + '/*.nii.gz')[0]))
b = nib.as_closest_canonical(nib.load(sys.argv[2]))
da, db = a.get_fdata(), b.get_fdata()
print(json.dumps({"shape": [list(da.shape), list(db.shape)], "affineDiff": float(np.abs(a.affine - b.affine).max()), "valuesEqual": bool(da.shape == db.shape and np.array_equal(da, db)), "range": [float(db.min()), float(db.max())]}))
`

/** dcm2niix converts the folder; nibabel compares it with `sourceNifti`. */
function dcm2niixAgainst(seriesDir: string, sourceNifti: string, work: string) {
  const out = join(work, `dcm2niix-${Math.random().toString(36).slice(2)}`)
  spawnSync('mkdir', ['-p', out])
  const r = spawnSync('dcm2niix', ['-z', 'y', '-f', 'ct', '-o', out, seriesDir], { encoding: 'utf8' })
  expect(r.status, `${r.stdout}${r.stderr}`).toBe(0)
  return runPythonJson<{ shape: number[][]; affineDiff: number; valuesEqual: boolean; range: number[] }>(COMPARE, [out, sourceNifti])
}

/** Labels 1-4 from the phantom when given, else a few HU-threshold blobs (liver/kidney values). */
function labelsFor(ct: CtVolume, phantomLabels?: Uint8Array): Uint8Array {
  if (phantomLabels) return phantomLabels
  const out = new Uint8Array(ct.data.length)
  const [nx, ny] = ct.dims
  for (let i = 0; i < out.length; i++) {
    const x = i % nx
    const y = Math.floor(i / nx) % ny
    if (ct.data[i] > 30 && ct.data[i] < 90) out[i] = x < nx / 2 ? 1 : y < ny / 2 ? 2 : 3
  }
  return out
}

/**
 * Exports `ctPath` with --new-study and checks everything the issue asks: dciodvfy-clean CT files
 * and SEG, dcm2niix on the source grid with equal HU, SEG references = the new instances, labels
 * read back exactly on the new series.
 */
async function newStudyRoundTrip(ctPath: string, labels: Uint8Array, sourceNifti: string, work: string) {
  const ct = await readCt(ctPath)
  const labelsPath = join(work, 'labels.nii.gz')
  await writeNifti({ ...ct, data: labels, meta: {} }, labelsPath)
  const out = join(work, 'out', 'seg.dcm')
  const r = CLI(['export', '--ct', ctPath, '--labels', labelsPath, '--format', 'dicom-seg', '--new-study', '-o', out])
  expect(r.status, r.stderr).toBe(0)
  const seriesDir = join(work, 'out', 'seg_ct')
  const ctFiles = readdirSync(seriesDir).sort()
  expect(ctFiles).toHaveLength(ct.dims[2])
  expect(r.stdout.trim().split('\n')).toEqual([out, join(work, 'out', 'seg.labels.json'), join(work, 'out', 'seg.provenance.json'), ...ctFiles.map((f) => join(seriesDir, f))])

  const errors = [out, ...ctFiles.map((f) => join(seriesDir, f))].flatMap(dciodvfyErrors)
  expect(errors).toEqual([])

  // dcm2niix, not our reader: same grid as the source, identical HU
  const cmp = dcm2niixAgainst(seriesDir, sourceNifti, work)
  expect(cmp.shape[0]).toEqual(cmp.shape[1])
  expect(cmp.affineDiff).toBeLessThan(1e-3)
  expect(cmp.valuesEqual).toBe(true)

  // the SEG references exactly the new series' instances, in its study and frame of reference
  const seg = naturalized(out)
  const first = naturalized(join(seriesDir, ctFiles[0]))
  const sops = new Set(ctFiles.map((f) => naturalized(join(seriesDir, f)).SOPInstanceUID as string))
  expect(seg.StudyInstanceUID).toBe(first.StudyInstanceUID)
  expect(seg.FrameOfReferenceUID).toBe(first.FrameOfReferenceUID)
  expect(seg.ReferencedSeriesSequence[0].SeriesInstanceUID).toBe(first.SeriesInstanceUID)
  expect(new Set(seg.ReferencedSeriesSequence[0].ReferencedInstanceSequence.map((x: { ReferencedSOPInstanceUID: string }) => x.ReferencedSOPInstanceUID))).toEqual(sops)
  for (const f of seg.PerFrameFunctionalGroupsSequence) expect(sops.has(f.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID)).toBe(true)

  // our reader: the new series is the source grid (maybe with k reversed), the SEG's labels are the exported ones there
  const newCt = await readCt(seriesDir)
  const back = readDicomSeg(out, newCt, defaultLabelTable())
  const onSource = await readCt(sourceNifti)
  expect(sameGrid(newCt, onSource, 1e-3) || sameGrid(newCt, flipK(onSource), 1e-3)).toBe(true)
  const expected = sameGrid(newCt, onSource, 1e-3) ? labels : flipData(labels, ct.dims)
  expect(Buffer.compare(Buffer.from(back.labels.data), Buffer.from(expected))).toBe(0)
  return { seriesDir, out, ct, first }
}

function flipData<T extends Uint8Array | Int16Array | Float32Array>(d: T, dims: number[]): T {
  const plane = dims[0] * dims[1]
  const out = d.slice() as T
  for (let k = 0; k < dims[2]; k++) out.set(d.subarray((dims[2] - 1 - k) * plane, (dims[2] - k) * plane), k * plane)
  return out
}

function flipK(v: CtVolume): CtVolume {
  const [, , nz] = v.dims
  const d = v.direction
  const c2 = [d[2], d[5], d[8]]
  return { ...v, origin: [0, 1, 2].map((a) => v.origin[a] + c2[a] * v.spacing[2] * (nz - 1)) as CtVolume['origin'], direction: [d[0], d[1], -d[2], d[3], d[4], -d[5], d[6], d[7], -d[8]] }
}

/** Rewrites every file of a series with the given attributes blanked (an anonymiser that drops UIDs). */
function blankAttributes(dir: string, names: string[]): void {
  for (const f of readdirSync(dir)) {
    const file = join(dir, f)
    const buf = readFileSync(file)
    const parsed = dcmjs.data.DicomMessage.readFile(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength))
    const ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(parsed.dict)
    for (const n of names) ds[n] = ''
    const meta = dcmjs.data.DicomMetaDictionary.naturalizeDataset(parsed.meta)
    if (names.includes('SOPInstanceUID')) meta.MediaStorageSOPInstanceUID = ''
    const dict = new dcmjs.data.DicomDict(dcmjs.data.DicomMetaDictionary.denaturalizeDataset(meta))
    dict.dict = dcmjs.data.DicomMetaDictionary.denaturalizeDataset(ds)
    writeFileSync(file, Buffer.from(dict.write()))
  }
}

describe.skipIf(!hasTools)(`DICOM SEG as a new study ${hasTools ? '' : TOOLS}`, () => {
  it('a NIfTI CT without --new-study is refused in words, and nothing is written', async () => {
    const work = tmpDir('scn-newstudy-')
    const p = generatePhantom({ dims: [32, 28, 6], spacing: [9, 9, 12], noise: 0 })
    const ctPath = join(work, 'ct.nii.gz')
    await writeNifti(p.ct, ctPath)
    const labelsPath = join(work, 'labels.nii.gz')
    await writeNifti({ ...p.ct, data: p.labels.data, meta: {} }, labelsPath)
    const r = CLI(['export', '--ct', ctPath, '--labels', labelsPath, '--format', 'dicom-seg', '-o', join(work, 'seg.dcm')])
    expect(r.status).not.toBe(0)
    expect(r.stderr).toMatch(/ct\.nii\.gz: the CT is a NIfTI file, not DICOM images.*--new-study/)
    expect(r.stderr).not.toMatch(/no DICOM files found/)
    expect(existsSync(join(work, 'seg.dcm'))).toBe(false)
  })

  it('a phantom NIfTI CT becomes a new DICOM series + SEG (dciodvfy clean, dcm2niix on the same grid and HU)', async () => {
    const work = tmpDir('scn-newstudy-')
    const p = generatePhantom({ dims: [40, 36, 8], spacing: [7, 7.5, 9], noise: 0 })
    const ctPath = join(work, 'ct.nii.gz')
    await writeNifti(p.ct, ctPath)
    await newStudyRoundTrip(ctPath, p.labels.data, ctPath, work)
  })

  it('a NIfTI CT whose slice axis runs against row × column (k reversed for DICOM) round-trips too', async () => {
    const work = tmpDir('scn-newstudy-')
    // LAS-like: x flipped, so row × column points down while the k axis points up
    const direction: Mat3 = [-1, 0, 0, 0, 1, 0, 0, 0, 1]
    const p = generatePhantom({ dims: [36, 32, 7], spacing: [8, 8, 10], noise: 0, direction })
    const ctPath = join(work, 'ct.nii.gz')
    await writeNifti(p.ct, ctPath)
    const { ct } = await newStudyRoundTrip(ctPath, p.labels.data, ctPath, work)
    expect(ct.direction[0]).toBe(-1)
  })

  it.skipIf(!exampleCt)(`example_ct (TotalSegmentator, real CT) as a new study ${exampleCt ? '' : NEEDS_DATA}`, async () => {
    const work = tmpDir('scn-newstudy-')
    const ct = await readCt(exampleCt!)
    await newStudyRoundTrip(exampleCt!, labelsFor(ct), exampleCt!, work)
  }, 180_000)

  it('an Enhanced CT (one file, frames out of order): the SEG references its frames by number, dciodvfy clean, labels read back on it', async () => {
    const work = tmpDir('scn-enh-seg-')
    const p = generatePhantom({ dims: [40, 36, 7], spacing: [7, 7.5, 9], noise: 0 })
    const ctPath = join(work, 'enhanced.dcm')
    writeEnhancedCt(p.ct, ctPath, { frameOrder: [3, 0, 6, 2, 5, 1, 4] })
    const ct = await readCt(ctPath)
    const labelsPath = join(work, 'labels.nii.gz')
    await writeNifti({ ...ct, data: p.labels.data, meta: {} }, labelsPath)
    const out = join(work, 'seg.dcm')
    const r = CLI(['export', '--ct', ctPath, '--labels', labelsPath, '--format', 'dicom-seg', '-o', out])
    expect(r.status, r.stderr).toBe(0)
    expect(dciodvfyErrors(out)).toEqual([])
    const seg = naturalized(out)
    const src = naturalized(ctPath)
    // one instance referenced once; each SEG frame names the CT frame at its position
    expect(seg.ReferencedSeriesSequence[0].ReferencedInstanceSequence.map((x: { ReferencedSOPInstanceUID: string }) => x.ReferencedSOPInstanceUID)).toEqual([src.SOPInstanceUID])
    const frameAt = new Map<string, number>(src.PerFrameFunctionalGroupsSequence.map((f: any, i: number) => [f.PlanePositionSequence[0].ImagePositionPatient.map((x: number) => Number(x).toFixed(2)).join(','), i + 1]))
    for (const f of seg.PerFrameFunctionalGroupsSequence) {
      const ref = f.DerivationImageSequence[0].SourceImageSequence[0]
      expect(ref.ReferencedSOPInstanceUID).toBe(src.SOPInstanceUID)
      expect(ref.ReferencedFrameNumber).toBe(frameAt.get(f.PlanePositionSequence[0].ImagePositionPatient.map((x: number) => Number(x).toFixed(2)).join(',')))
    }
    const back = readDicomSeg(out, ct, defaultLabelTable())
    expect(Buffer.compare(Buffer.from(back.labels.data), Buffer.from(p.labels.data))).toBe(0)
    // without its Frame of Reference UID it is refused, counted in files (one), not frames (seven)
    const anon = join(work, 'anon')
    mkdirSync(anon)
    writeEnhancedCt(p.ct, join(anon, 'enhanced.dcm'))
    blankAttributes(anon, ['FrameOfReferenceUID'])
    const refused = CLI(['export', '--ct', join(anon, 'enhanced.dcm'), '--labels', labelsPath, '--format', 'dicom-seg', '-o', join(work, 'anon-seg.dcm')])
    expect(refused.status).not.toBe(0)
    expect(refused.stderr).toContain('Frame of Reference UID (0020,0052) missing or blank in 1 of 1 files (e.g. enhanced.dcm)')
    // and as a new study: the enhanced CT becomes a classic series on its grid
    await newStudyRoundTrip(ctPath, p.labels.data, await (async () => {
      const f = join(work, 'source-as-read.nii.gz')
      await writeNifti(ct, f)
      return f
    })(), join(work, 'ns'))
  }, 120_000)

  describe('an anonymised DICOM series (Study/Series/SOP Instance UIDs blanked)', () => {
    async function anonymisedSeries() {
      const work = tmpDir('scn-anon-')
      const p = generatePhantom({ dims: [40, 36, 7], spacing: [7, 7.5, 9], noise: 0 })
      const dir = join(work, 'anon')
      writeDicomSeries(p.ct, dir)
      blankAttributes(dir, ['StudyInstanceUID', 'SeriesInstanceUID', 'SOPInstanceUID'])
      return { work, dir, labels: p.labels.data }
    }

    it('is refused without --new-study, naming the missing attributes; nothing is written', async () => {
      const { work, dir, labels } = await anonymisedSeries()
      const ct = await readCt(dir)
      const labelsPath = join(work, 'labels.nii.gz')
      await writeNifti({ ...ct, data: labels, meta: {} }, labelsPath)
      const out = join(work, 'seg.dcm')
      const r = CLI(['export', '--ct', dir, '--labels', labelsPath, '--format', 'dicom-seg', '-o', out])
      expect(r.status).not.toBe(0)
      expect(r.stderr).toContain('Study Instance UID (0020,000D) missing or blank in 7 of 7 files')
      expect(r.stderr).toContain('Series Instance UID (0020,000E)')
      expect(r.stderr).toContain('SOP Instance UID (0008,0018)')
      expect(r.stderr).not.toContain('Frame of Reference UID')
      expect(r.stderr).toMatch(/--new-study/)
      expect(existsSync(out)).toBe(false)
    })

    it('with --new-study: a new series + SEG, dciodvfy clean, dcm2niix on the source grid with equal HU', async () => {
      const { work, dir, labels } = await anonymisedSeries()
      const source = await readCt(dir)
      const sourceNifti = join(work, 'source-as-read.nii.gz')
      await writeNifti(source, sourceNifti)
      const { first } = await newStudyRoundTrip(dir, labels, sourceNifti, work)
      // patient attributes come along; the identifiers are new and not blank
      expect(first.PatientID).toBe('PHANTOM')
      for (const k of ['StudyInstanceUID', 'SeriesInstanceUID', 'SOPInstanceUID', 'FrameOfReferenceUID']) expect(first[k]).toMatch(/^2\.25\.\d+$/)
    })
  })
})
