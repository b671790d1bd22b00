/**
 * Time of analyseLesions (src-shared/lesion-analysis.ts) on the 512x512x300 grid at
 * 0.8x0.8x2.5 mm: a labelmap whose organs fill a large part of the volume (values 1-4, which the
 * scan must step over) and a few liver lesions (value 5) of 4-50 mm, with a CT for the mean HU.
 * Prints the median of several runs for 6- and 26-connectivity, for a value that is absent and
 * for the lesion on a permuted grid (axial = index axis 0: every voxel becomes a hull point).
 * Target: under ~200 ms for the lesion value on a 2-core machine.
 *
 *   npx tsx bench/lesion-analysis-bench.ts
 */
import { analyseLesions, type LesionAnalysisOptions } from '../src-shared/lesion-analysis.js'
import type { Geometry, Vec3 } from '../src-shared/volume.js'

const dims: Vec3 = [512, 512, 300]
const spacing: Vec3 = [0.8, 0.8, 2.5]
const [nx, ny, nz] = dims
const labels = new Uint8Array(nx * ny * nz)
const ct = new Int16Array(nx * ny * nz).fill(-1000)

/** Fills an ellipsoid (centre and semi-axes in mm) with `value` (and `hu`), row by row. */
function ellipsoid(centre: Vec3, semi: Vec3, value: number, hu: number): void {
  for (let k = 0; k < nz; k++) {
    const dz = (k * spacing[2] - centre[2]) / semi[2]
    if (dz * dz > 1) continue
    for (let j = 0; j < ny; j++) {
      const dy = (j * spacing[1] - centre[1]) / semi[1]
      const rest = 1 - dz * dz - dy * dy
      if (rest < 0) continue
      const half = Math.sqrt(rest) * semi[0]
      const i0 = Math.max(0, Math.ceil((centre[0] - half) / spacing[0]))
      const i1 = Math.min(nx - 1, Math.floor((centre[0] + half) / spacing[0]))
      if (i1 < i0) continue
      const base = (k * ny + j) * nx
      labels.fill(value, base + i0, base + i1 + 1)
      ct.fill(hu, base + i0, base + i1 + 1)
    }
  }
}

const t0 = performance.now()
ellipsoid([250, 200, 380], [110, 90, 100], 1, 60) // liver
ellipsoid([120, 260, 330], [30, 25, 55], 2, 150) // kidneys
ellipsoid([290, 270, 330], [30, 25, 55], 2, 150)
ellipsoid([330, 150, 420], [45, 35, 60], 3, 45) // spleen
ellipsoid([200, 280, 300], [60, 15, 20], 4, 40) // pancreas
const lesions: [Vec3, Vec3][] = [
  [[220, 190, 380], [25, 20, 22]],
  [[280, 160, 420], [12, 9, 10]],
  [[250, 240, 330], [6, 6, 6]],
  [[180, 210, 440], [2, 2, 3]],
]
for (const [c, s] of lesions) ellipsoid(c, s, 5, 20)
console.log(`512x512x300 labelmap built in ${(performance.now() - t0).toFixed(0)} ms (organs 1-4, ${lesions.length} lesions of value 5)`)

const geometry: Geometry = { dims, spacing, origin: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] }

function time(name: string, g: Geometry, value: number, opts: LesionAnalysisOptions = {}, lab = labels, hu: Int16Array | null = ct): number {
  const ms: number[] = []
  let found = 0
  for (let r = 0; r < 7; r++) {
    const t = performance.now()
    found = analyseLesions(lab, hu, g, value, opts).length
    ms.push(performance.now() - t)
  }
  ms.sort((a, b) => a - b)
  console.log(`${name.padEnd(44)} median ${ms[3].toFixed(1).padStart(6)} ms  (min ${ms[0].toFixed(1)}, max ${ms[6].toFixed(1)})  ${found} component(s)`)
  return ms[3]
}

const main = time('lesions (value 5), 6-connected, with CT', geometry, 5)
time('lesions (value 5), 26-connected, with CT', geometry, 5, { connectivity: 26 })
time('lesions (value 5), 6-connected, no CT', geometry, 5, {}, labels, null)
time('absent value (7)', geometry, 7)
time('liver (value 1, ~4 M voxels), 6-connected', geometry, 1)

// the same labelmap on a permuted grid: index axis 0 is world z, so slices are taken across x
const permuted: Geometry = { ...geometry, spacing: [2.5, 0.8, 0.8], direction: [0, 1, 0, 0, 0, 1, 1, 0, 0] }
time('lesions, permuted grid (axial = index axis 0)', permuted, 5)

const r = analyseLesions(labels, ct, geometry, 5)
for (const l of r) console.log(`  K${l.index}: ${l.voxels} voxels, ${l.volumeMl.toFixed(2)} mL, ${l.longestAxialMm.toFixed(1)} x ${l.perpendicularMm.toFixed(1)} mm on slice ${l.sliceIndex}, ${l.meanHu?.toFixed(0)} HU`)
console.log(`\n6-connected lesion analysis ${main.toFixed(0)} ms vs ~200 ms target: ${main < 200 ? 'OK' : 'SLOW (a loaded machine? run again)'}`)
