/**
 * Organ statistics in one pass over the voxels: counts, volume (mL), mean/std HU, and against the
 * prediction: voxels added, removed and Dice. Plain typed-array loops, no per-voxel allocation.
 */
import type { OrganStatistics, StatisticsResult } from '../../src-shared/contract/schemas.js'

export function computeStatistics(
  ct: Int16Array,
  labels: Uint8Array,
  prediction: Uint8Array | undefined,
  spacing: readonly number[],
  table: readonly { value: number; name: string }[],
): Omit<StatisticsResult, 'volumeId' | 'kind' | 'version'> {
  const count = new Float64Array(256)
  const sum = new Float64Array(256)
  const sumSq = new Float64Array(256)
  const predCount = new Float64Array(256)
  const both = new Float64Array(256)
  const n = labels.length
  for (let i = 0; i < n; i++) {
    const v = labels[i]
    const hu = ct[i]
    count[v]++
    sum[v] += hu
    sumSq[v] += hu * hu
  }
  if (prediction) {
    for (let i = 0; i < n; i++) {
      const p = prediction[i]
      predCount[p]++
      if (p === labels[i]) both[p]++
    }
  }
  const voxelMl = (spacing[0] * spacing[1] * spacing[2]) / 1000
  const counts: Record<string, number> = {}
  for (let v = 0; v < 256; v++) if (count[v] > 0) counts[String(v)] = count[v]
  const names = new Map(table.map((l) => [l.value, l.name]))
  const values = new Set<number>(table.map((l) => l.value))
  for (let v = 1; v < 256; v++) if (count[v] > 0 || predCount[v] > 0) values.add(v)
  const organs: OrganStatistics[] = [...values]
    .sort((a, b) => a - b)
    .map((v) => {
      const c = count[v]
      const mean = c > 0 ? sum[v] / c : null
      const std = c > 0 && mean !== null ? Math.sqrt(Math.max(0, sumSq[v] / c - mean * mean)) : null
      const o: OrganStatistics = { value: v, name: names.get(v) ?? `label ${v}`, voxels: c, volumeMl: c * voxelMl, meanHu: mean, stdHu: std }
      if (prediction) {
        const denom = c + predCount[v]
        o.vsPrediction = { added: c - both[v], removed: predCount[v] - both[v], dice: denom > 0 ? (2 * both[v]) / denom : null }
      }
      return o
    })
  return { voxelMl, counts, organs }
}
