/**
 * The labels.patch payload, defined once for the page (which encodes it from its undo patches) and
 * the hosts (which decode and apply it):
 *
 *   count x u32 little-endian   voxel indices into the labelmap (x fastest, then y, then z)
 *   count x u8                  the label value each of those voxels now holds
 *
 * Five bytes per changed voxel: a brush dab of a few thousand voxels is a few kilobytes where the
 * whole 512x512x300 labelmap is 78 MB. The header (LabelPatchHeaderSchema) carries `count`.
 * Changes are applied in order, so an index given twice ends with its last value.
 */
import { ContractError } from './errors.js'

/** Payload bytes of a patch of `count` changed voxels. */
export function labelPatchBytes(count: number): number {
  return count * 5
}

/** The payload for `count` changes: indices first, then values. */
export function encodeLabelPatch(indices: Uint32Array | readonly number[], values: Uint8Array | readonly number[]): Uint8Array<ArrayBuffer> {
  if (indices.length !== values.length) throw new Error(`a label patch needs one value per index (${indices.length} indices, ${values.length} values)`)
  const n = indices.length
  const out = new Uint8Array(n * 5)
  const view = new DataView(out.buffer)
  for (let i = 0; i < n; i++) view.setUint32(i * 4, indices[i]!, true)
  out.set(values, n * 4)
  return out
}

export interface LabelPatch {
  indices: Uint32Array
  values: Uint8Array
}

/**
 * Reads and checks a payload against its header's count and the labelmap's voxel count. Throws a
 * 'bad-request' ContractError naming `where` and the problem; nothing is applied by decoding.
 */
export function decodeLabelPatch(where: string, count: number, payload: Uint8Array, voxels: number): LabelPatch {
  if (payload.byteLength !== labelPatchBytes(count)) {
    throw new ContractError('bad-request', `${where}: the header says ${count} changed voxels (${labelPatchBytes(count)} bytes) but the payload has ${payload.byteLength} bytes`)
  }
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error('SCN Studio frames need a little-endian machine')
  // view the indices in place when they are 4-byte aligned in memory (frames align payloads to 8)
  const indices = (payload.byteOffset % 4 === 0)
    ? new Uint32Array(payload.buffer, payload.byteOffset, count)
    : new Uint32Array(payload.slice(0, count * 4).buffer)
  for (let i = 0; i < count; i++) {
    if (indices[i]! >= voxels) throw new ContractError('bad-request', `${where}: change ${i} is at voxel ${indices[i]}, outside the labelmap (${voxels} voxels)`)
  }
  return { indices, values: payload.subarray(count * 4) }
}

/** Writes a decoded patch into a labelmap (in order: a repeated index keeps its last value). */
export function applyLabelPatch(labels: Uint8Array, patch: LabelPatch): void {
  const { indices, values } = patch
  for (let i = 0; i < indices.length; i++) labels[indices[i]!] = values[i]!
}
