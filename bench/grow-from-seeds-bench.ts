/**
 * Grow from seeds timings: `npx tsx bench/grow-from-seeds-bench.ts`. A 512x512x300 CT at
 * 0.8x0.8x2.5 mm (60 HU liver, noise sd 12 HU) with a 3 cm hypodense lesion (20 HU); the seeds are
 * strokes inside the lesion and a ring of background strokes around it, as a user paints them. The
 * algorithm runs on a box around the lesion, never on the whole volume; each figure is the median
 * (and the fastest) of several runs. Crop = copying the box out of the grid (what the worker client
 * does before posting).
 */
import { cropToBox, growFromSeeds, type GrowBox, type GrowInput } from '../src-renderer/editing/grow-from-seeds.js'
import { mulberry32 } from '../src-shared/phantom.js'
import type { Vec3 } from '../src-shared/volume.js'

const dims: Vec3 = [512, 512, 300]
const spacing: Vec3 = [0.8, 0.8, 2.5]
const [nx, ny, nz] = dims
const centre: Vec3 = [256, 256, 150] // voxel
const lesionMm = 15

function build(): { ct: Int16Array; seeds: Uint8Array } {
  const t0 = performance.now()
  const rand = mulberry32(7)
  // 64k Gaussian samples, indexed by a cheap hash: 78 M Box-Muller draws would take longer than the bench
  const table = new Float32Array(65536)
  for (let i = 0; i < table.length; i++) table[i] = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand())
  const ct = new Int16Array(nx * ny * nz)
  const seeds = new Uint8Array(nx * ny * nz)
  let h = 12345
  for (let k = 0, i = 0; k < nz; k++) {
    const dz = (k - centre[2]) * spacing[2]
    for (let j = 0; j < ny; j++) {
      const dy = (j - centre[1]) * spacing[1]
      for (let x = 0; x < nx; x++, i++) {
        const dx = (x - centre[0]) * spacing[0]
        h = (Math.imul(h, 1103515245) + 12345) >>> 0
        const r = Math.sqrt(dx * dx + dy * dy + dz * dz)
        ct[i] = Math.round((r <= lesionMm ? 20 : 60) + 12 * table[h >>> 16]!)
        const rr = Math.hypot(dx, dy)
        const slice = k - centre[2]
        const onCross = Math.abs(dx) <= 0.6 || Math.abs(dy) <= 0.6
        if (onCross && ((slice === 0 && rr <= 9) || (Math.abs(slice) === 2 && rr <= 6))) seeds[i] = 1
        else if (Math.abs(slice) <= 4 && slice % 2 === 0 && Math.abs(rr - 24) <= 0.6) seeds[i] = 255
        else if (Math.abs(Math.abs(dz) - 25) <= 1.25 && rr <= 18 && onCross) seeds[i] = 255
      }
    }
  }
  console.log(`volume ${dims.join('x')} built in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
  return { ct, seeds }
}

function boxAround(size: Vec3): GrowBox {
  const min: Vec3 = [centre[0] - (size[0] >> 1), centre[1] - (size[1] >> 1), centre[2] - (size[2] >> 1)]
  return { min, max: [min[0] + size[0] - 1, min[1] + size[1] - 1, min[2] + size[2] - 1] }
}

function time(label: string, input: GrowInput, runs = 5): void {
  const grow: number[] = []
  const crop: number[] = []
  let grown = 0
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now()
    const c = cropToBox(input)
    crop.push(performance.now() - t0)
    const res = growFromSeeds(c.input)
    grow.push(res.ms)
    grown = 0
    for (const v of res.labels) if (v === 1) grown++
  }
  const med = (a: number[]): number => [...a].sort((p, q) => p - q)[a.length >> 1]!
  const b = input.box!
  const size = [0, 1, 2].map((a) => b.max[a]! - b.min[a]! + 1)
  const vox = size[0]! * size[1]! * size[2]!
  const volMl = (grown * spacing[0] * spacing[1] * spacing[2]) / 1000
  console.log(`${label.padEnd(44)} box ${size.join('x').padEnd(11)} ${(vox / 1e6).toFixed(2)} Mvox  grow ${med(grow).toFixed(0).padStart(5)} ms (min ${Math.min(...grow).toFixed(0)})  crop ${med(crop).toFixed(1)} ms  lesion ${volMl.toFixed(1)} ml (true ${((4 / 3) * Math.PI * lesionMm ** 3 / 1000).toFixed(1)})`)
}

const { ct, seeds } = build()
const base = { ct, dims, spacing, seeds }
const onlyLesion = seeds.map((v) => (v === 1 ? 1 : 0))
const ctF = Float32Array.from(ct)
time('lesion vs background, int16', { ...base, box: boxAround([80, 80, 40]) })
time('lesion vs background, float32', { ...base, ct: ctF, box: boxAround([80, 80, 40]) })
time('lesion vs background, no smoothing', { ...base, smoothingMm: 0, box: boxAround([80, 80, 40]) })
time('lesion only, box border = background', { ...base, seeds: onlyLesion, box: boxAround([80, 80, 40]) })
time('lesion vs background, seed locality 1', { ...base, seedLocality: 1, box: boxAround([80, 80, 40]) })
time('lesion vs background, larger box', { ...base, box: boxAround([128, 128, 48]) })
time('lesion vs background, liver-sized box', { ...base, box: boxAround([200, 200, 80]) }, 3)
