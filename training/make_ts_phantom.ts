/**
 * Writes the app's own TypeScript phantom (src-main/volumes/phantom.ts) as NIfTI, in clinical-like
 * geometry: the demo's anatomy family, at a chosen body scale (the seed only changes the noise).
 *   npx tsx training/make_ts_phantom.ts OUT_DIR [seed] [scale]
 */
import { join } from 'node:path'
import { mkdirSync } from 'node:fs'
import { generatePhantom } from '../src-main/volumes/phantom.js'
import { writeVolume } from '../src-main/volumes/read.js'

const out = process.argv[2]
if (!out) {
  process.stderr.write('usage: npx tsx training/make_ts_phantom.ts OUT_DIR [seed] [scale]\n')
  process.exit(2)
}
const seed = Number(process.argv[3] ?? 11)
const scale = Number(process.argv[4] ?? 1)
mkdirSync(out, { recursive: true })
const { ct, labels } = generatePhantom({ dims: [128, 110, 100], spacing: [3, 3, 3], seed, noise: 12, centre: [0, 0, 20], scale })
await writeVolume(ct, join(out, 'ts_phantom_ct.nii.gz'))
await writeVolume(labels, join(out, 'ts_phantom_labels.nii.gz'))
process.stdout.write(JSON.stringify({ ct: join(out, 'ts_phantom_ct.nii.gz'), labels: join(out, 'ts_phantom_labels.nii.gz') }) + '\n')
