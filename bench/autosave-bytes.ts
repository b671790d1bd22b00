/**
 * Bytes per autosave: what the page sends for one edit with labels.patch (the changed voxels,
 * src-shared/contract/label-patch.ts) against labels.put (the whole labelmap), on the issue's
 * 512x512x300 CT at 0.8x0.8x2.5 mm. The edits are made by the editor's own code (PatchBuilder and
 * the brush shapes of src-renderer/editing), the frames by the contract's encoder, so the figures
 * are the bytes on the wire (HTTP body / IPC buffer). Fails (exit 1) when a one-dab save is 64 KB
 * or more.
 *
 *   npx tsx bench/autosave-bytes.ts
 */
import { encodeFrame, encodeLabelPatch, type LabelmapHeader, type LabelPatchHeader } from '../src-shared/contract/index.js'
import type { Vec3 } from '../src-shared/volume.js'
import { gridFromArray } from '../src-renderer/editing/grid.js'
import { PatchBuilder } from '../src-renderer/editing/patch.js'
import { circle, paint, sphere, stamp, type Shape } from '../src-renderer/editing/strategies.js'

const dims: Vec3 = [512, 512, 300]
const spacing: Vec3 = [0.8, 0.8, 2.5]
const LIMIT = 64 * 1024
const labels = new Uint8Array(dims[0] * dims[1] * dims[2])
const grid = gridFromArray(dims, spacing, labels)
const centre: Vec3 = [256, 256, 150]

const full: LabelmapHeader = { volumeId: 'v1', kind: 'current', dataType: 'uint8', geometry: { dims, spacing, origin: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] }, version: 7 }
const putBytes = encodeFrame(full, new Uint8Array(0)).byteLength + labels.byteLength

function save(name: string, shape: Shape, value: number): number {
  const b = new PatchBuilder(grid)
  stamp(grid, shape, paint(value), [], b)
  const p = b.build(name)
  const header: LabelPatchHeader = { volumeId: 'v1', kind: 'current', dataType: 'uint8', version: 7, count: p.indices.length }
  const bytes = encodeFrame(header, encodeLabelPatch(p.indices, p.after)).byteLength
  console.log(`${name.padEnd(34)} ${String(p.indices.length).padStart(7)} voxels  ${String(bytes).padStart(9)} bytes per save (${((bytes / putBytes) * 100).toFixed(4)} % of labels.put)`)
  return bytes
}

console.log(`autosave on ${dims.join('x')} at ${spacing.join('x')} mm: labels.put sends ${putBytes} bytes (${(putBytes / 2 ** 20).toFixed(1)} MiB) per save`)
const oneDab = save('one dab, brush 6 mm (default)', circle(centre, 6, spacing, 2), 1)
save('one dab, brush 20 mm', circle(centre, 20, spacing, 2), 2)
save('one dab, brush 60 mm (largest)', circle(centre, 60, spacing, 2), 3)
save('one 3D dab, sphere 20 mm', sphere(centre, 20, spacing), 4)
console.log(`\none-dab save ${oneDab} bytes vs ${LIMIT} limit: ${oneDab < LIMIT ? 'OK' : 'TOO LARGE'}`)
if (oneDab >= LIMIT) process.exit(1)
