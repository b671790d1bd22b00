/**
 * Label exports checked by independent readers: nibabel (NIfTI, nnU-Net geometry), dciodvfy
 * (DICOM SEG conformance), dcmjs (SEG read-back), itk-wasm (seg.nrrd), plus our SEG import of
 * dcmqi's files onto the real ct-3slice series.
 */
import { describe, expect, it } from 'vitest'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import dcmjs from 'dcmjs'
import { generatePhantom } from '../../src-shared/phantom.js'
import { readCt, readLabels } from '../../src-main/volumes/read.js'
import { readNrrd } from '../../src-main/volumes/nrrd.js'
import { valueBounds } from '../../src-main/volumes/mask.js'
import { writeNifti } from '../../src-main/volumes/nifti.js'
import { rasAffine, sameGrid, worldToIndex, indexToWorld, rotationMatrix, mat3Mul } from '../../src-shared/geometry.js'
import type { CtVolume, LabelVolume, Mat3, Vec3 } from '../../src-shared/volume.js'
import { TEAM_PRESETS, Workspace, addLabel, defaultLabelTable, ProvenanceSchema } from '../../src-main/cases/index.js'
import { exportLabels, readDicomSeg, exportCase, exportWorkspace, organReport, type LabelExportInput } from '../../src-main/export/index.js'
import { writeDicomSeries } from '../fixtures/dicom-series.js'
import { TEST_MODEL, fakePrediction, tmpDir, workspaceWithCases } from '../fixtures/cases-workspace.js'
import { hasPythonModules, runPythonJson } from '../helpers/python.js'
import { NEEDS_DATA, sharedData } from '../helpers/shared-data.js'

const hasNibabel = hasPythonModules('nibabel', 'numpy')
const hasDciodvfy = spawnSync('sh', ['-c', 'command -v dciodvfy']).status === 0
const ct3 = sharedData('dcmqi/ct-3slice')
const liverSeg = sharedData('dcmqi/liver.dcm')
const overlapSeg = sharedData('dcmqi/partial_overlaps.dcm')

const CLI = (args: string[]) => spawnSync(process.execPath, ['bin/scn-studio.mjs', ...args], { encoding: 'utf8' })

const NIB_GEOM = `
import sys, json, nibabel as nib, numpy as np
out = []
for f in sys.argv[1:]:
    img = nib.load(f)
    d = np.asanyarray(img.dataobj)
    out.append({"shape": list(img.shape), "affine": img.affine.tolist(), "dtype": str(d.dtype), "values": sorted(int(v) for v in np.unique(d)) if d.dtype == np.uint8 else []})
print(json.dumps(out))
`

/** dciodvfy's verdict: error lines and warning lines. */
function dciodvfy(file: string): { errors: string[]; warnings: string[]; out: string } {
  const r = spawnSync('dciodvfy', [file], { encoding: 'utf8' })
  const out = `${r.stdout}${r.stderr}`
  const lines = out.split('\n')
  return { errors: lines.filter((l) => /^Error/.test(l)), warnings: lines.filter((l) => /^Warning/.test(l)), out }
}

/** Reads a SEG with dcmjs alone (no code of ours) into a labelmap on `grid`, by segment label name -> value. */
function dcmjsReadBack(file: string, grid: CtVolume, valueByName: Record<string, number>): Uint8Array {
  const buf = readFileSync(file)
  const ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(dcmjs.data.DicomMessage.readFile(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength)).dict)
  const bits: Uint8Array = dcmjs.data.BitArray.unpack(ds.PixelData[0])
  const frame = ds.Rows * ds.Columns
  const out = new Uint8Array(grid.data.length)
  const names = new Map<number, string>(ds.SegmentSequence.map((s: { SegmentNumber: number; SegmentLabel: string }) => [s.SegmentNumber, s.SegmentLabel]))
  ds.PerFrameFunctionalGroupsSequence.forEach((f: Record<string, any>, fi: number) => {
    const pos = f.PlanePositionSequence[0].ImagePositionPatient.map(Number) as Vec3
    const k = Math.round(worldToIndex(grid, pos)[2])
    const v = valueByName[names.get(f.SegmentIdentificationSequence[0].ReferencedSegmentNumber)!]
    for (let p = 0; p < frame; p++) if (bits[fi * frame + p]) out[k * frame + p] = v
  })
  return out
}

function countDiff(a: Uint8Array, b: Uint8Array): number {
  let n = 0
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++
  return n
}

/** A phantom CT written as a DICOM series and read back, with labels on it. */
async function dicomPhantom(direction?: Mat3): Promise<{ dir: string; ctDir: string; input: LabelExportInput }> {
  const dir = tmpDir('scn-export-')
  const p = generatePhantom({ dims: [48, 40, 14], spacing: [7, 7.5, 9], noise: 0, ...(direction ? { direction } : {}) })
  const ctDir = join(dir, 'ct')
  writeDicomSeries(p.ct, ctDir)
  const ct = await readCt(ctDir)
  expect(sameGrid(ct, p.ct, 1e-3)).toBe(true)
  let table = defaultLabelTable()
  table = addLabel(table, TEAM_PRESETS[0]).table
  const final = p.labels.data.slice()
  for (let i = 0; i < final.length; i++) if (final[i] === 3) final[i] = 0 // spleen absent (splenectomy)
  // a liver lesion: a few voxels inside the liver
  let put = 0
  for (let i = 0; i < final.length && put < 40; i++) if (final[i] === 1 && i % 3 === 0) { final[i] = 5; put++ }
  const prediction = fakePrediction(p.labels.data, p.ct.dims)
  // kidney untouched: make the final kidney exactly the prediction's
  for (let i = 0; i < final.length; i++) {
    if (prediction[i] === 2) final[i] = 2
    else if (final[i] === 2) final[i] = 0
  }
  const labels: LabelVolume = { ...ct, data: final, meta: { sourcePath: 'labels' } }
  return { dir, ctDir, input: { ct, ctPath: ctDir, labels, table, prediction, model: TEST_MODEL, annotators: ['ann'] } }
}

describe('NIfTI export', () => {
  it.skipIf(!hasNibabel)('writes labels on the CT grid (nibabel agrees), a full label table and provenance', async () => {
    const { dir, input } = await dicomPhantom()
    const files = await exportLabels(input, 'nifti', join(dir, 'out', 'case1.nii.gz'))
    expect(files.map((f) => f.replace(dir, ''))).toEqual(['/out/case1.nii.gz', '/out/case1.labels.json', '/out/case1.provenance.json'])
    const ctNii = join(dir, 'ct.nii.gz')
    await writeNifti(input.ct, ctNii)
    const [lab, img] = runPythonJson<{ shape: number[]; affine: number[][]; dtype: string; values: number[] }[]>(NIB_GEOM, [files[0], ctNii])
    expect(lab.shape).toEqual(img.shape)
    lab.affine.flat().forEach((x, i) => expect(x).toBeCloseTo(img.affine.flat()[i], 4))
    rasAffine(input.ct).forEach((x, i) => expect(lab.affine.flat()[i]).toBeCloseTo(x, 4))
    expect(lab.dtype).toBe('uint8')
    expect(lab.values).toEqual([0, 1, 2, 4, 5])
    expect((await readLabels(files[0])).data).toEqual(input.labels.data)
    const side = JSON.parse(readFileSync(files[1], 'utf8'))
    expect(side.labels.map((l: { name: string; present: boolean }) => [l.name, l.present])).toEqual([['liver', true], ['kidney', true], ['spleen', false], ['pancreas', true], ['liver lesion', true]])
    expect(side.labels[2]).toMatchObject({ value: 3, voxels: 0, snomed: { code: '78961009' } })
    const prov = ProvenanceSchema.parse(JSON.parse(readFileSync(files[2], 'utf8')))
    expect(prov.model).toEqual(TEST_MODEL)
    expect(prov.annotators).toEqual(['ann'])
    const org = Object.fromEntries(prov.organs.map((o) => [o.name, o]))
    expect(org.kidney).toMatchObject({ added: 0, removed: 0, dice: 1, edited: false })
    expect(org.spleen.removed).toBe(org.spleen.predictedVoxels)
    expect(org.spleen.finalVoxels).toBe(0)
    expect(org.liver.added).toBeGreaterThan(0) // the prediction's holes were filled
    expect(org.liver.dice).toBeGreaterThan(0.5)
    expect(org.liver.dice).toBeLessThan(1)
  })

  it('refuses labels on another grid, naming the file', async () => {
    const { dir, input } = await dicomPhantom()
    const shifted = { ...input, labels: { ...input.labels, origin: [input.labels.origin[0] + 2, input.labels.origin[1], input.labels.origin[2]] as Vec3 } }
    await expect(exportLabels(shifted, 'nifti', join(dir, 'x.nii.gz'))).rejects.toThrow(/labels: the labels are not on the CT's grid/)
    const bad = { ...input, labels: { ...input.labels, data: input.labels.data.map((v) => (v === 4 ? 9 : v)) } }
    await expect(exportLabels(bad, 'nifti', join(dir, 'y.nii.gz'))).rejects.toThrow(/value\(s\) 9 are not in the label table/)
  })
})

describe('nnU-Net v2 dataset', () => {
  it.skipIf(!hasNibabel)('a workspace of two cases exports a valid dataset whose labels line up with the images (nibabel), with ignore for unapproved organs', async () => {
    const { ws, dir, cases } = await workspaceWithCases(3)
    // case 1: fully reviewed; case 2: edited, only liver approved; case 3: to do (excluded)
    for (const v of [1, 2, 3, 4]) await ws.approveOrgan(cases[0].id, v, 'Dr Rad')
    const s = await ws.openCase(cases[1].id, { user: 'ann' })
    s.putLabels(cases[1].phantom.labels.data.slice())
    await s.close()
    await ws.approveOrgan(cases[1].id, 1, 'Dr Rad')
    const out = join(dir, 'Dataset501_Abdomen')
    const r = CLI(['export-workspace', ws.dir, '-o', out, '--ignore-unapproved'])
    expect(r.status, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/^2 case\(s\): ct-1, ct-2/)
    const dsj = JSON.parse(readFileSync(join(out, 'dataset.json'), 'utf8'))
    expect(dsj).toMatchObject({ channel_names: { '0': 'CT' }, numTraining: 2, file_ending: '.nii.gz', labels: { background: 0, liver: 1, kidney: 2, spleen: 3, pancreas: 4, ignore: 5 } })
    const images = ['ct-1', 'ct-2'].map((c) => join(out, 'imagesTr', `${c}_0000.nii.gz`))
    const labels = ['ct-1', 'ct-2'].map((c) => join(out, 'labelsTr', `${c}.nii.gz`))
    expect(existsSync(join(out, 'imagesTr', 'ct-3_0000.nii.gz'))).toBe(false)
    const geo = runPythonJson<{ shape: number[]; affine: number[][]; dtype: string; values: number[] }[]>(NIB_GEOM, [...images, ...labels])
    for (let c = 0; c < 2; c++) {
      const img = geo[c]
      const lab = geo[c + 2]
      expect(lab.shape).toEqual(img.shape)
      lab.affine.flat().forEach((x, i) => expect(x).toBeCloseTo(img.affine.flat()[i], 5))
      expect(img.dtype).toBe('int16')
      // every label value is declared in dataset.json
      for (const v of lab.values) expect(Object.values(dsj.labels)).toContain(v)
    }
    expect(geo[2].values).toEqual([0, 1, 2, 3, 4]) // reviewed case: no ignore
    expect(geo[3].values).toEqual([0, 1, 5]) // only liver approved: other organs -> ignore
    // the two cases' images really are different positions (centre shifted), each label on its own image
    expect(geo[0].affine[0][3]).not.toBeCloseTo(geo[1].affine[0][3], 3)
    const prov = JSON.parse(readFileSync(join(out, 'provenance', 'ct-2.json'), 'utf8'))
    expect(prov.ignoredValues).toEqual([2, 3, 4])
    expect(prov.annotators).toEqual(['ann'])
    const csv = readFileSync(join(out, 'organ-volumes.csv'), 'utf8').trim().split('\n')
    expect(csv[0]).toBe('case,organ,value,voxels,volume_ml,mean_hu,reviewed_by,review_state,model')
    expect(csv.length).toBe(1 + 2 * 4)
    expect(csv[1]).toMatch(/^ct-1,liver,1,\d+,[\d.]+,[\d.]+,Dr Rad,approved,scn-flare21-test 0.0.1$/)
  })

  it('organ report: volume in mL and mean HU inside each organ', async () => {
    const { ws, cases } = await workspaceWithCases(1)
    const { caseExportInput } = await import('../../src-main/export/case-export.js')
    const input = await caseExportInput(ws, cases[0].id)
    const rows = organReport('c', input)
    const liver = rows.find((r) => r.organ === 'liver')!
    expect(liver.volumeMl).toBeCloseTo((liver.voxels * 8 * 8 * 10) / 1000, 3)
    expect(liver.meanHu).toBeGreaterThan(85) // phantom liver ~100 HU
    expect(liver.meanHu).toBeLessThan(115)
  })
})

describe('DICOM SEG', () => {
  it.skipIf(!hasDciodvfy)('passes dciodvfy and reads back (ours and dcmjs) to exactly the exported labels', async () => {
    const { dir, ctDir, input } = await dicomPhantom()
    const out = join(dir, 'seg.dcm')
    const r = CLI(['export', '--ct', ctDir, '--labels', await labelsFile(dir, input), '--prediction', await labelsFile(dir, { ...input, labels: { ...input.labels, data: input.prediction! } }, 'pred'), '--format', 'dicom-seg', '--model-id', TEST_MODEL.id, '--model-version', TEST_MODEL.version, '--annotator', 'ann', '-o', out, '--workspace', await workspaceWithTable(dir)])
    expect(r.status, r.stderr).toBe(0)
    const v = dciodvfy(out)
    expect(v.errors, v.out).toEqual([])
    console.log(`dciodvfy on our SEG: ${v.errors.length} errors, ${v.warnings.length} warnings${v.warnings.length ? `: ${v.warnings.join(' | ')}` : ''}`)
    // ours
    const back = readDicomSeg(out, input.ct, input.table)
    expect(countDiff(back.labels.data, input.labels.data)).toBe(0)
    expect(back.overlaps).toEqual([])
    // dcmjs alone
    const byName = Object.fromEntries(input.table.labels.map((l) => [l.name, l.value]))
    expect(countDiff(dcmjsReadBack(out, input.ct, byName), input.labels.data)).toBe(0)
    // segment coding
    const buf = readFileSync(out)
    const ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(dcmjs.data.DicomMessage.readFile(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength)).dict)
    const segs = Object.fromEntries(ds.SegmentSequence.map((s: Record<string, any>) => [s.SegmentLabel, s]))
    expect(Object.keys(segs)).toEqual(['liver', 'kidney', 'spleen', 'pancreas', 'liver lesion']) // absent spleen kept
    expect(segs.kidney.SegmentAlgorithmType).toBe('AUTOMATIC')
    expect(segs.liver.SegmentAlgorithmType).toBe('SEMIAUTOMATIC')
    expect(segs['liver lesion'].SegmentAlgorithmType).toBe('MANUAL')
    expect(segs.liver.SegmentAlgorithmName).toBe('scn-flare21-test 0.0.1')
    expect(segs.liver.SegmentedPropertyTypeCodeSequence[0]).toMatchObject({ CodeValue: '10200004', CodingSchemeDesignator: 'SCT' })
    expect(segs['liver lesion'].AnatomicRegionSequence[0].CodeValue).toBe('10200004')
    expect(segs.liver.RecommendedDisplayCIELabValue).toHaveLength(3)
    expect(ds.SegmentationType).toBe('BINARY')
    const src = spawnSync('dcmdump', ['+P', '0020,000e', join(ctDir, 'slice0000.dcm')], { encoding: 'utf8' }).stdout
    expect(src).toContain(ds.ReferencedSeriesSequence[0].SeriesInstanceUID)
    expect(ds.ReferencedSeriesSequence[0].ReferencedInstanceSequence).toHaveLength(input.ct.dims[2])
  })

  it.skipIf(!hasDciodvfy)('an oblique, flipped series round-trips too', async () => {
    const direction = mat3Mul(rotationMatrix([0, 0, 1], 0.3), [1, 0, 0, 0, -1, 0, 0, 0, -1] as Mat3)
    const { dir, input } = await dicomPhantom(direction)
    const [out] = await exportLabels(input, 'dicom-seg', join(dir, 'oblique.dcm'))
    expect(dciodvfy(out).errors).toEqual([])
    expect(countDiff(readDicomSeg(out, input.ct, input.table).labels.data, input.labels.data)).toBe(0)
  })

  describe.skipIf(!ct3 || !hasDciodvfy)(`on the real ct-3slice series ${ct3 ? '' : NEEDS_DATA}`, () => {
    it('imports dcmqi liver.dcm onto the CT, re-exports it (dciodvfy clean) and reads back identical voxels', async () => {
      const dir = tmpDir('scn-seg3-')
      const ct = await readCt(ct3!)
      const table = defaultLabelTable()
      const imported = readDicomSeg(liverSeg!, ct, table)
      expect(imported.segments).toMatchObject([{ number: 1, name: 'Liver', value: 1 }])
      expect(imported.segments[0].voxels).toBeGreaterThan(10000)
      const input: LabelExportInput = { ct, ctPath: ct3!, labels: imported.labels, table }
      const [out] = await exportLabels(input, 'dicom-seg', join(dir, 'liver-again.dcm'))
      const v = dciodvfy(out)
      expect(v.errors, v.out).toEqual([])
      console.log(`dciodvfy on ct-3slice SEG: ${v.warnings.length} warnings${v.warnings.length ? `: ${v.warnings.join(' | ')}` : ''}`)
      expect(countDiff(readDicomSeg(out, ct, table).labels.data, imported.labels.data)).toBe(0)
      expect(countDiff(dcmjsReadBack(out, ct, { liver: 1, kidney: 2, spleen: 3, pancreas: 4 }), imported.labels.data)).toBe(0)
      // and the source's own voxels equal dcmjs's reading of the source file
      expect(countDiff(dcmjsReadBack(liverSeg!, ct, { Liver: 1 }), imported.labels.data)).toBe(0)
    })

    it('partial_overlaps.dcm: unknown segments are refused by name, or added to the table; overlaps are reported', async () => {
      const ct = await readCt(ct3!)
      const table = defaultLabelTable()
      expect(() => readDicomSeg(overlapSeg!, ct, table)).toThrow(/partial_overlaps\.dcm: segment 1 ".+" \(code \d+\) matches no label/)
      const r = readDicomSeg(overlapSeg!, ct, table, { unknown: 'add' })
      expect(r.segments).toHaveLength(5)
      expect(r.table.labels.length).toBe(4 + 5)
      expect(r.segments.every((s) => s.value !== null && s.value >= 5)).toBe(true)
      expect(r.overlaps.length).toBeGreaterThan(0)
      // every segment's surviving voxels are in the labelmap with its value
      for (const s of r.segments) expect(r.labels.data.filter((v) => v === s.value).length).toBe(s.voxels)
    })
  })
})

describe('Slicer .seg.nrrd', () => {
  it('writes Segment{N} fields (name, colour, label value, layer, extent) and voxels itk-wasm reads back on the CT grid', async () => {
    const { dir, input } = await dicomPhantom()
    const [out] = await exportLabels(input, 'seg-nrrd', join(dir, 'labels.seg.nrrd'))
    const back = await readNrrd(out)
    expect(sameGrid(back, input.ct, 1e-4)).toBe(true)
    expect(countDiff(back.data as Uint8Array, input.labels.data)).toBe(0)
    const header = readFileSync(out).toString('latin1').split('\n\n')[0]
    const field = (k: string) => header.match(new RegExp(`^${k}:=(.*)$`, 'm'))?.[1]
    expect(field('Segment0_Name')).toBe('liver')
    expect(field('Segment0_LabelValue')).toBe('1')
    expect(field('Segment0_Layer')).toBe('0')
    expect(field('Segment0_Color')).toBe('0.866667 0.509804 0.396078')
    const liver = valueBounds(input.labels.data, input.labels.dims, 1)!
    expect(field('Segment0_Extent')).toBe(`${liver.min[0]} ${liver.max[0]} ${liver.min[1]} ${liver.max[1]} ${liver.min[2]} ${liver.max[2]}`)
    expect(field('Segment2_Name')).toBe('spleen') // absent, still listed
    expect(field('Segment2_Extent')).toBe('0 -1 0 -1 0 -1')
    expect(field('Segment4_Name')).toBe('liver lesion')
    expect(field('Segment4_Tags')).toMatch(/SCT\^52988006\^Lesion.*SCT\^10200004\^Liver/)
    expect(field('Segmentation_MasterRepresentation')).toBe('Binary labelmap')
  })
})

describe('workspace case export', () => {
  it('exportCase writes what the open editor holds (flushes first) with the case review in provenance', async () => {
    const { ws, dir, cases } = await workspaceWithCases(1)
    const s = await ws.openCase(cases[0].id, { user: 'ann', delayMs: 60_000, maxWaitMs: 60_000 })
    const edited = s.labels.slice()
    edited.fill(4, 0, 100)
    s.putLabels(edited)
    await ws.approveOrgan(cases[0].id, 3, 'Dr Rad') // spleen: not touched by the edit, so it stays approved
    const files = await exportCase(ws, cases[0].id, 'nifti', join(dir, 'x.nii.gz'))
    expect((await readLabels(files[0])).data).toEqual(edited)
    const prov = ProvenanceSchema.parse(JSON.parse(readFileSync(files[2], 'utf8')))
    expect(prov.case?.id).toBe(cases[0].id)
    expect(prov.reviewers).toEqual(['Dr Rad'])
    expect(prov.organs.find((o) => o.value === 3)?.review.state).toBe('approved')
    expect(prov.timestamps.firstEdit).toBeDefined()
    await s.close()
  })
})

describe('lesion table (lesions.csv)', () => {
  /**
   * Two lesions drawn into a phantom case (8x8x10 mm voxels): an ellipsoid of semi-axes 40 x 24 x 20
   * mm (2a = 80, 2b = 48 mm) and a straight bar 6 voxels long, one voxel wide, on one slice (48 x 8
   * mm edge to edge). Expected counts, HU and centroids are computed here from the voxels.
   */
  function drawLesions(ct: CtVolume, value: number): { labels: Uint8Array; ellipsoid: number[]; bar: number[] } {
    const [nx, ny, nz] = ct.dims
    const labels = new Uint8Array(nx * ny * nz)
    const centre = indexToWorld(ct, [12.3, 17.2, 11])
    const ellipsoid: number[] = []
    const bar: number[] = []
    for (let k = 0; k < nz; k++) {
      for (let j = 0; j < ny; j++) {
        for (let i = 0; i < nx; i++) {
          const p = indexToWorld(ct, [i, j, k])
          const at = i + nx * (j + ny * k)
          if (((p[0] - centre[0]) / 40) ** 2 + ((p[1] - centre[1]) / 24) ** 2 + ((p[2] - centre[2]) / 20) ** 2 <= 1) ellipsoid.push(at)
          else if (k === 5 && j === 30 && i >= 25 && i < 31) bar.push(at)
        }
      }
    }
    for (const at of [...ellipsoid, ...bar]) labels[at] = value
    return { labels, ellipsoid, bar }
  }
  const mean = (ct: CtVolume, at: number[]) => Math.round((at.reduce((s, a) => s + ct.data[a], 0) / at.length) * 10) / 10
  const row = (line: string) => line.split(',')

  it('a case with a lesion label and two drawn blobs: one row per lesion with its voxels, diameters, HU, slice and centroid', async () => {
    const { ws, dir, cases } = await workspaceWithCases(1)
    const table = await ws.addLabel(TEAM_PRESETS[0])
    const lesion = table.labels.find((l) => l.name === TEAM_PRESETS[0].name)!
    const id = cases[0].id
    const ct = cases[0].phantom.ct
    const drawn = drawLesions(ct, lesion.value)
    const s = await ws.openCase(id, { user: 'ann' })
    s.putLabels(drawn.labels)
    await s.close()
    const out = join(dir, 'ds')
    const files = await exportCase(ws, id, 'nnunet', out)
    expect(files).toContain(join(out, 'lesions.csv'))
    expect(files).toContain(join(out, 'lesions.json'))
    const csv = readFileSync(join(out, 'lesions.csv'), 'utf8').trim().split('\n')
    expect(csv[0]).toBe('case,value,label,lesion,voxels,volume_ml,longest_axial_mm,perpendicular_mm,mean_hu,slice_1based,centroid_x_lps_mm,centroid_y_lps_mm,centroid_z_lps_mm')
    expect(csv).toHaveLength(3)
    const [big, bar] = [row(csv[1]), row(csv[2])]
    expect(big.slice(0, 5)).toEqual([id, String(lesion.value), 'liver lesion', '1', String(drawn.ellipsoid.length)])
    expect(Number(big[5])).toBeCloseTo((drawn.ellipsoid.length * 8 * 8 * 10) / 1000, 3)
    expect(Math.abs(Number(big[6]) - 80)).toBeLessThanOrEqual(8) // within one voxel of 2a
    expect(Math.abs(Number(big[7]) - 48)).toBeLessThanOrEqual(8) // within one voxel of 2b
    expect(Number(big[8])).toBeCloseTo(mean(ct, drawn.ellipsoid), 1)
    expect(big[9]).toBe('12') // the ellipsoid's central slice k = 11, 1-based
    const c = indexToWorld(ct, [12.3, 17.2, 11])
    for (let d = 0; d < 3; d++) expect(Math.abs(Number(big[10 + d]) - c[d])).toBeLessThan(4)
    expect(bar.slice(0, 5)).toEqual([id, String(lesion.value), 'liver lesion', '2', '6'])
    expect(Number(bar[5])).toBeCloseTo(6 * 0.64, 3)
    expect(Number(bar[6])).toBe(48) // 6 voxels of 8 mm, edge to edge
    expect(Number(bar[7])).toBe(8) // one voxel wide
    expect(Number(bar[8])).toBeCloseTo(mean(ct, drawn.bar), 1)
    expect(bar[9]).toBe('6') // k = 5
    indexToWorld(ct, [27.5, 30, 5]).forEach((x, d) => expect(Number(bar[10 + d])).toBeCloseTo(x, 1))
    const json = JSON.parse(readFileSync(join(out, 'lesions.json'), 'utf8'))
    expect(json.conventions.connectivity).toBe(6)
    expect(json.rows).toHaveLength(2)
    expect(json.rows[1]).toMatchObject({ case: id, value: lesion.value, lesion: 2, voxels: 6, longestAxialMm: 48, perpendicularMm: 8, slice: 6 })
    // an existing lesions.csv is a target like the others: not replaced without overwrite
    await expect(exportCase(ws, id, 'nnunet', out)).rejects.toThrow(/exists|already/)
  })

  it('the workspace export lists the lesions of every case; a case without lesion labels writes no lesions.csv', async () => {
    const { ws, dir, cases } = await workspaceWithCases(2)
    for (const c of cases) {
      const s = await ws.openCase(c.id, { user: 'ann' })
      s.putLabels(c.phantom.labels.data.slice())
      await s.close()
    }
    // no lesion label in the table: neither the case nor the workspace export writes lesions.*
    const plain = await exportCase(ws, cases[0].id, 'nnunet', join(dir, 'plain'))
    expect(plain.some((f) => /lesions/.test(f))).toBe(false)
    expect(existsSync(join(dir, 'plain', 'lesions.csv'))).toBe(false)
    expect(existsSync(join(dir, 'plain', 'organ-volumes.csv'))).toBe(true)
    await exportWorkspace(ws, join(dir, 'plain-ws'))
    expect(existsSync(join(dir, 'plain-ws', 'lesions.csv'))).toBe(false)
    // a lesion label; lesions drawn in case 1 only: its rows, and none for case 2
    const table = await ws.addLabel(TEAM_PRESETS[0])
    const value = table.labels.find((l) => l.name === TEAM_PRESETS[0].name)!.value
    const drawn = drawLesions(cases[0].phantom.ct, value)
    const s = await ws.openCase(cases[0].id, { user: 'ann' })
    s.putLabels(drawn.labels)
    await s.close()
    const { files } = await exportWorkspace(ws, join(dir, 'ws-out'))
    expect(files).toContain(join(dir, 'ws-out', 'lesions.csv'))
    const csv = readFileSync(join(dir, 'ws-out', 'lesions.csv'), 'utf8').trim().split('\n')
    expect(csv.slice(1).map((l) => row(l).slice(0, 5))).toEqual([
      [cases[0].id, String(value), 'liver lesion', '1', String(drawn.ellipsoid.length)],
      [cases[0].id, String(value), 'liver lesion', '2', '6'],
    ])
    // the table has a lesion label but case 2 has none drawn: header only
    const only2 = await exportCase(ws, cases[1].id, 'nnunet', join(dir, 'case2'))
    expect(only2).toContain(join(dir, 'case2', 'lesions.csv'))
    expect(readFileSync(join(dir, 'case2', 'lesions.csv'), 'utf8').trim().split('\n')).toHaveLength(1)
  })
})

async function labelsFile(dir: string, input: LabelExportInput, name = 'labels'): Promise<string> {
  const f = join(dir, `${name}.nii.gz`)
  await writeNifti({ ...input.ct, data: input.labels.data, meta: {} }, f)
  return f
}

async function workspaceWithTable(dir: string): Promise<string> {
  const ws = await Workspace.open(join(dir, 'ws-table'), { create: true })
  await ws.addLabel(TEAM_PRESETS[0])
  return ws.dir
}
