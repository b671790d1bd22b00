/**
 * Writes the app's own TypeScript phantom (src-shared/phantom.ts) as NIfTI, in clinical-like
 * geometry: the demo's anatomy family, at a chosen body scale (the seed only changes the noise).
 *   npx tsx training/make_ts_phantom.ts OUT_DIR [seed] [scale] [sx,sy,sz] [fovZmm] [centreZmm] [thorax]
 * The field of view stays 384x330 mm in-plane whatever the spacing (default 3 mm), so finer spacings
 * show the same anatomy with the finer noise grain of a clinical scan; fovZmm (default 300) and
 * centreZmm (default 20) cut a slab (the liver's centre is at z = 45 mm at scale 1); thorax (1) puts lungs
 * and a heart above the diaphragm instead of more abdomen (the heart's top is at z = 168 mm at scale 1).
 */
import { join } from 'node:path'
import { mkdirSync } from 'node:fs'
import { generatePhantom } from '../src-shared/phantom.js'
import { writeVolume } from '../src-main/volumes/read.js'

const out = process.argv[2]
if (!out) {
  process.stderr.write('usage: npx tsx training/make_ts_phantom.ts OUT_DIR [seed] [scale]\n')
  process.exit(2)
}
const seed = Number(process.argv[3] ?? 11)
const scale = Number(process.argv[4] ?? 1)
const spacing = (process.argv[5] ?? '3,3,3').split(',').map(Number) as [number, number, number]
const fovZ = Number(process.argv[6] ?? 300)
const centreZ = Number(process.argv[7] ?? 20)
const thorax = process.argv[8] === '1'
const dims = [384, 330, fovZ].map((fov, a) => Math.max(1, Math.round(fov / spacing[a]))) as [number, number, number]
mkdirSync(out, { recursive: true })
const { ct, labels } = generatePhantom({ dims, spacing, seed, noise: 12, centre: [0, 0, centreZ], scale, thorax })
await writeVolume(ct, join(out, 'ts_phantom_ct.nii.gz'))
await writeVolume(labels, join(out, 'ts_phantom_labels.nii.gz'))
process.stdout.write(JSON.stringify({ ct: join(out, 'ts_phantom_ct.nii.gz'), labels: join(out, 'ts_phantom_labels.nii.gz') }) + '\n')
