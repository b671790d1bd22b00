/**
 * `scn-studio evaluate <pred> <truth>`: per-organ Dice, NSD at a tolerance (FLARE21: 1 mm) and
 * volume difference between a predicted and a reference label map on the same grid.
 */
import type { Command } from 'commander'
import { readLabels } from '../volumes/read.js'
import { copyOntoLattice, sameGrid, sameLatticeMap } from '../../src-shared/geometry.js'
import { VolumeError } from '../volumes/errors.js'
import { resolveInputPath } from '../volumes/input.js'
import { FLARE_LABELS } from '../../src-shared/labels.js'
import { applyLabelMap, evaluateLabels, parseLabelMap, type LabelMetrics } from '../evaluation/metrics.js'

export interface EvaluateOptions {
  map?: string
  mapPred?: string
  tolerance?: string
  labels?: string
  json?: boolean
}

export interface EvaluateReport {
  pred: string
  truth: string
  toleranceMm: number
  /** the prediction was stored in another axis order or direction and was reordered onto the truth's grid (exact) */
  predReordered: boolean
  organs: (LabelMetrics & { name: string })[]
  mean: { dice: number; nsd: number }
}

export async function evaluateFiles(predPath: string, truthPath: string, o: EvaluateOptions = {}): Promise<EvaluateReport> {
  const tolerance = o.tolerance === undefined ? 1 : Number(o.tolerance)
  if (!Number.isFinite(tolerance) || tolerance < 0) throw new Error(`--tolerance must be a number of mm >= 0 (got "${o.tolerance}")`)
  const [pred, truth] = await Promise.all([readLabels(predPath), readLabels(truthPath)])
  let predOnTruth = pred.data
  let predReordered = false
  if (!sameGrid(pred, truth)) {
    // the same voxels stored another way round (another tool's axis order, RAS against LPS) are
    // matched exactly; anything else would need interpolation, which would change the score
    const map = sameLatticeMap(pred, truth)
    if (!map) {
      throw new VolumeError('dims-mismatch', predPath, `its grid (${pred.dims.join('x')} at ${pred.spacing.map((s) => s.toFixed(3)).join('x')} mm) differs from ${truthPath} (${truth.dims.join('x')} at ${truth.spacing.map((s) => s.toFixed(3)).join('x')} mm, origin/direction compared too) by more than an axis order or direction: resample one onto the other first`)
    }
    if (!map.identity) {
      predOnTruth = new Uint8Array(pred.data.length)
      copyOntoLattice(pred.data, map, truth.dims, predOnTruth)
      predReordered = true
    }
  }
  const truthData = o.map ? applyLabelMap(truth.data, parseLabelMap(o.map)) : truth.data
  const predData = o.mapPred ? applyLabelMap(predOnTruth, parseLabelMap(o.mapPred)) : predOnTruth
  const values = o.labels ? o.labels.split(',').map((s) => Number(s.trim())) : FLARE_LABELS.map((l) => l.value)
  if (values.some((v) => !Number.isInteger(v) || v < 1 || v > 255)) throw new Error(`--labels must list label values 1..255 (got "${o.labels}")`)
  const metrics = evaluateLabels(predData, truthData, truth.dims, truth.spacing, values, tolerance)
  const organs = metrics.map((m) => ({ ...m, name: FLARE_LABELS.find((l) => l.value === m.label)?.name ?? `label ${m.label}` }))
  const mean = {
    dice: organs.reduce((s, m) => s + m.dice, 0) / Math.max(1, organs.length),
    nsd: organs.reduce((s, m) => s + m.nsd, 0) / Math.max(1, organs.length),
  }
  return { pred: predPath, truth: truthPath, toleranceMm: tolerance, predReordered, organs, mean }
}

export function formatReport(r: EvaluateReport): string {
  const pad = (s: string, n: number) => s.padEnd(n)
  const num = (v: number, d: number) => v.toFixed(d).padStart(9)
  const lines = [
    `prediction ${r.pred}`,
    `truth      ${r.truth}`,
    ...(r.predReordered ? ['(the prediction is stored in another axis order or direction: its voxels were matched to the truth\'s exactly)'] : []),
    `${pad('organ', 12)}${'Dice'.padStart(9)}${`NSD@${r.toleranceMm}mm`.padStart(11)}${'pred mL'.padStart(10)}${'truth mL'.padStart(10)}${'diff mL'.padStart(10)}`,
  ]
  for (const m of r.organs) {
    lines.push(`${pad(m.name, 12)}${num(m.dice, 4)}${num(m.nsd, 4).padStart(11)}${num(m.volumePredMl, 1).padStart(10)}${num(m.volumeTruthMl, 1).padStart(10)}${num(m.volumeDiffMl, 1).padStart(10)}`)
  }
  lines.push(`${pad('mean', 12)}${num(r.mean.dice, 4)}${num(r.mean.nsd, 4).padStart(11)}`)
  return lines.join('\n') + '\n'
}

export function registerEvaluate(program: Command): void {
  program
    .command('evaluate <pred> <truth>')
    .description('per-organ Dice, normalised surface distance (NSD) and volume difference of a prediction against reference labels')
    .option('--map <a:b,...>', 'relabel the truth first (e.g. TotalSegmentator 5:1,2:2,3:2,1:3,7:4); unlisted values become background')
    .option('--map-pred <a:b,...>', 'relabel the prediction first')
    .option('--tolerance <mm>', 'NSD tolerance in mm (FLARE21: 1)', '1')
    .option('--labels <v,...>', 'label values to evaluate (default: the FLARE organs 1,2,3,4)')
    .option('--json', 'machine-readable output')
    .action(async (pred: string, truth: string, o: EvaluateOptions) => {
      const r = await evaluateFiles(resolveInputPath(pred), resolveInputPath(truth), o)
      process.stdout.write(o.json ? JSON.stringify(r, null, 2) + '\n' : formatReport(r))
    })
}
