/**
 * Dice / NSD / volume difference: hand-computed cases, agreement with training/scn/metrics.py on
 * random shapes with anisotropic spacing, and the `scn-studio evaluate` command on real files.
 */
import { describe, expect, it } from 'vitest'
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { spawnSync } from 'node:child_process'
import { borderMask, evaluateLabels, maskDice, maskNsd, squaredDistanceTo, parseLabelMap, applyLabelMap } from '../../src-main/evaluation/metrics.js'
import { evaluateFiles } from '../../src-main/cli/evaluate.js'
import { writeVolume } from '../../src-main/volumes/read.js'
import { generatePhantom, mulberry32 } from '../../src-shared/phantom.js'
import type { Vec3 } from '../../src-shared/volume.js'
import { hasPythonModules, runPythonJson } from '../helpers/python.js'
import { sharedData, NEEDS_DATA } from '../helpers/shared-data.js'

function cube(dims: Vec3, lo: Vec3, size: number, value = 1): Uint8Array {
  const m = new Uint8Array(dims[0] * dims[1] * dims[2])
  for (let z = lo[2]; z < lo[2] + size; z++)
    for (let y = lo[1]; y < lo[1] + size; y++) for (let x = lo[0]; x < lo[0] + size; x++) m[x + dims[0] * (y + dims[1] * z)] = value
  return m
}

describe('metrics by hand', () => {
  const dims: Vec3 = [10, 10, 10]
  const a = cube(dims, [2, 2, 2], 4)
  const b = cube(dims, [3, 2, 2], 4) // shifted by one voxel along x

  it('Dice of two overlapping cubes', () => {
    // |A|=|B|=64, overlap 3x4x4=48 -> 96/128
    expect(maskDice(a, b)).toBeCloseTo(0.75, 12)
    expect(maskDice(a, a)).toBe(1)
    expect(maskDice(new Uint8Array(8), new Uint8Array(8))).toBe(1)
  })

  it('border of a 4^3 cube has 56 voxels', () => {
    expect(borderMask(a, dims).reduce((s, v) => s + v, 0)).toBe(56)
  })

  it('NSD of a one-voxel shift: 1 at 1 mm, 36/56 at 0.5 mm', () => {
    expect(maskNsd(a, b, dims, [1, 1, 1], 1)).toBe(1)
    // per cube, the 16 voxels of the trailing face and the 4 inner voxels of the leading face are 1 mm away
    expect(maskNsd(a, b, dims, [1, 1, 1], 0.5)).toBeCloseTo(36 / 56, 12)
    // with 2 mm voxels along x the shift is 2 mm: the trailing faces (16 voxels each) are outside
    // 1.5 mm, the inner leading-face voxels are 1 mm (one y step) from the other cube's side face
    expect(maskNsd(a, b, dims, [2, 1, 1], 1.5)).toBeCloseTo(40 / 56, 12)
    expect(maskNsd(a, b, dims, [2, 1, 1], 2)).toBe(1)
  })

  it('NSD is 0 when one mask is empty, 1 when both are', () => {
    const empty = new Uint8Array(a.length)
    expect(maskNsd(a, empty, dims, [1, 1, 1], 1)).toBe(0)
    expect(maskNsd(empty, empty, dims, [1, 1, 1], 1)).toBe(1)
  })

  it('exact anisotropic distance transform', () => {
    const d: Vec3 = [5, 4, 3]
    const seed = new Uint8Array(60)
    seed[0] = 1
    const g = squaredDistanceTo(seed, d, [1, 2, 3])
    expect(g[4 + 5 * (3 + 4 * 2)]).toBeCloseTo(16 + 36 + 36, 9) // (4,3,2) -> 4² + 6² + 6²
  })

  it('volume difference in mL and labels evaluated separately', () => {
    const p = cube(dims, [0, 0, 0], 2, 1) // 8 voxels of label 1
    const t = cube(dims, [0, 0, 0], 3, 1) // 27 voxels
    const r = evaluateLabels(p, t, dims, [2, 2, 2], [1, 2])
    expect(r[0].volumePredMl).toBeCloseTo(8 * 8 / 1000, 12)
    expect(r[0].volumeDiffMl).toBeCloseTo(-19 * 8 / 1000, 12)
    expect(r[0].dice).toBeCloseTo(16 / 35, 12)
    expect(r[1]).toMatchObject({ dice: 1, nsd: 1, volumePredMl: 0 })
  })

  it('label maps', () => {
    const m = parseLabelMap('5:1, 2:2,3:2')
    expect(Array.from(applyLabelMap(Uint8Array.from([5, 2, 3, 7, 0]), m))).toEqual([1, 2, 2, 0, 0])
    expect(() => parseLabelMap('5-1')).toThrow(/source:target/)
  })
})

const PY = hasPythonModules('numpy', 'scipy')
const TRAINING = resolve(import.meta.dirname, '../../training')

describe.skipIf(!PY)('TypeScript and training/scn/metrics.py agree', () => {
  it('on random blobs with anisotropic spacing', () => {
    const dims: Vec3 = [23, 19, 15]
    const spacing: Vec3 = [0.8, 1.1, 2.5]
    const rand = mulberry32(42)
    const n = dims[0] * dims[1] * dims[2]
    const pred = new Uint8Array(n)
    const truth = new Uint8Array(n)
    // overlapping ellipsoids of labels 1..3 with random jitter, plus salt noise
    for (let z = 0; z < dims[2]; z++)
      for (let y = 0; y < dims[1]; y++)
        for (let x = 0; x < dims[0]; x++) {
          const i = x + dims[0] * (y + dims[1] * z)
          const r1 = ((x - 8) / 6) ** 2 + ((y - 9) / 5) ** 2 + ((z - 7) / 4) ** 2
          const r2 = ((x - 15) / 4) ** 2 + ((y - 8) / 6) ** 2 + ((z - 8) / 3) ** 2
          truth[i] = r1 < 1 ? 1 : r2 < 1 ? 2 : 0
          const j = rand() * 0.5
          pred[i] = r1 < 1 + j - 0.2 ? 1 : r2 < 0.8 + j ? 2 : rand() < 0.01 ? 3 : 0
        }
    const dir = mkdtempSync(join(tmpdir(), 'scn-metrics-'))
    writeFileSync(join(dir, 'pred.raw'), pred)
    writeFileSync(join(dir, 'truth.raw'), truth)
    for (const tol of [0.5, 1, 2.6]) {
      const ts = evaluateLabels(pred, truth, dims, spacing, [1, 2, 3], tol)
      const py = runPythonJson<Record<string, { dice: number; nsd: number; volumeDiffMl: number }>>(
        `import sys, json, numpy as np
sys.path.insert(0, ${JSON.stringify(TRAINING)})
from scn.metrics import evaluate
d, tol = sys.argv[1], float(sys.argv[2])
shape = (${dims[2]}, ${dims[1]}, ${dims[0]})
p = np.fromfile(d + '/pred.raw', np.uint8).reshape(shape)
t = np.fromfile(d + '/truth.raw', np.uint8).reshape(shape)
print(json.dumps({str(k): v for k, v in evaluate(p, t, (${spacing[2]}, ${spacing[1]}, ${spacing[0]}), [1, 2, 3], tol).items()}))`,
        [dir, String(tol)],
      )
      for (const m of ts) {
        expect(m.dice).toBeCloseTo(py[String(m.label)].dice, 12)
        expect(m.nsd).toBeCloseTo(py[String(m.label)].nsd, 12)
        expect(m.volumeDiffMl).toBeCloseTo(py[String(m.label)].volumeDiffMl, 9)
      }
      // the cases are not trivial: NSD strictly between 0 and 1 for the ellipsoids
      expect(ts[0].nsd).toBeGreaterThan(0)
      if (tol === 0.5) expect(ts[0].nsd).toBeLessThan(1)
    }
  })
})

describe('scn-studio evaluate', () => {
  it('scores a phantom against itself and against a damaged copy', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scn-eval-'))
    const { labels } = generatePhantom({ dims: [48, 40, 32], spacing: [8, 8, 8], noise: 0 })
    const truthPath = join(dir, 'truth.nii.gz')
    const predPath = join(dir, 'pred.nii.gz')
    await writeVolume(labels, truthPath)
    const damaged = { ...labels, data: labels.data.map((v) => (v === 3 ? 0 : v)) } // spleen missed
    await writeVolume(damaged, predPath)
    const self = await evaluateFiles(truthPath, truthPath)
    expect(self.organs.map((o) => o.dice)).toEqual([1, 1, 1, 1])
    const r = await evaluateFiles(predPath, truthPath, { tolerance: '2' })
    const spleen = r.organs.find((o) => o.name === 'spleen')!
    expect(spleen.dice).toBe(0)
    expect(spleen.nsd).toBe(0)
    expect(spleen.volumeDiffMl).toBeLessThan(0)
    expect(r.organs.find((o) => o.name === 'liver')!.dice).toBe(1)

    const cli = spawnSync(process.execPath, ['bin/scn-studio.mjs', 'evaluate', predPath, truthPath, '--json'], { encoding: 'utf8' })
    expect(cli.status, cli.stderr).toBe(0)
    const j = JSON.parse(cli.stdout)
    expect(j.organs).toHaveLength(4)
    expect(j.toleranceMm).toBe(1)
    const table = spawnSync(process.execPath, ['bin/scn-studio.mjs', 'evaluate', predPath, truthPath], { encoding: 'utf8' })
    expect(table.stdout).toMatch(/spleen\s+0\.0000\s+0\.0000/)
  })

  it('refuses label maps on different grids, naming the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scn-eval-'))
    const a = generatePhantom({ dims: [20, 20, 10], spacing: [8, 8, 8] }).labels
    const b = generatePhantom({ dims: [20, 20, 11], spacing: [8, 8, 8] }).labels
    await writeVolume(a, join(dir, 'a.nii.gz'))
    await writeVolume(b, join(dir, 'b.nii.gz'))
    await expect(evaluateFiles(join(dir, 'a.nii.gz'), join(dir, 'b.nii.gz'))).rejects.toThrow(/a\.nii\.gz: its grid/)
  })

  it('matches a prediction stored in another axis order and direction voxel for voxel', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scn-eval-'))
    const { labels } = generatePhantom({ dims: [40, 32, 24], spacing: [8, 7, 9], noise: 0 })
    const [nx, ny, nz] = labels.dims
    await writeVolume(labels, join(dir, 'truth.nii.gz'))
    // the same voxels with x and y swapped and the new y running the other way (another tool's
    // layout), the spleen dropped so that a wrong match cannot score like the right one
    const d = labels.direction
    const col = (c: number) => [d[c], d[3 + c], d[6 + c]]
    const c0 = col(1)
    const c1 = col(0).map((v) => -v)
    const c2 = col(2)
    const far = [0, 1, 2].map((i) => labels.origin[i] + (nx - 1) * labels.spacing[0] * col(0)[i]) as Vec3
    const data = new Uint8Array(nx * ny * nz)
    for (let k = 0; k < nz; k++) {
      for (let j = 0; j < nx; j++) {
        for (let i = 0; i < ny; i++) {
          const v = labels.data[nx - 1 - j + i * nx + k * nx * ny]
          data[i + j * ny + k * ny * nx] = v === 3 ? 0 : v
        }
      }
    }
    const turned = { ...labels, dims: [ny, nx, nz] as Vec3, spacing: [labels.spacing[1], labels.spacing[0], labels.spacing[2]] as Vec3, origin: far,
      direction: [c0[0], c1[0], c2[0], c0[1], c1[1], c2[1], c0[2], c1[2], c2[2]] as typeof d, data }
    await writeVolume(turned, join(dir, 'pred.nii.gz'))
    const r = await evaluateFiles(join(dir, 'pred.nii.gz'), join(dir, 'truth.nii.gz'))
    expect(r.predReordered).toBe(true)
    expect(r.organs.map((o) => o.dice)).toEqual([1, 1, 0, 1])
    expect(r.organs[0].volumePredMl).toBeCloseTo(r.organs[0].volumeTruthMl, 6)
    // one voxel's shift is not the same lattice: refused, not interpolated
    await writeVolume({ ...turned, origin: [far[0] + c0[0] * 7, far[1] + c0[1] * 7, far[2] + c0[2] * 7] as Vec3 }, join(dir, 'shifted.nii.gz'))
    await expect(evaluateFiles(join(dir, 'shifted.nii.gz'), join(dir, 'truth.nii.gz'))).rejects.toThrow(/shifted\.nii\.gz: its grid .* by more than an axis order/)
  })

  const seg = sharedData('totalsegmentator/example_seg_fast_force_split.nii.gz')
  it.skipIf(!seg)(`maps TotalSegmentator ids onto ours (${NEEDS_DATA})`, async () => {
    const r = await evaluateFiles(seg!, seg!, { map: '5:1,2:2,3:2,1:3,7:4', mapPred: '5:1,2:2,3:2,1:3,7:4' })
    expect(r.organs.every((o) => o.dice === 1 && o.nsd === 1 && o.volumeTruthMl > 10)).toBe(true)
    void readFileSync
  })
})
