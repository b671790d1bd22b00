/**
 * `scn-studio demo` (`npm run demo`): the main job on bundled demo data. Generates the synthetic
 * abdomen (so a fresh clone needs no download), segments it with the default model, writes CT,
 * truth and labels as NIfTI, and prints each organ's volume and Dice against the phantom's truth.
 */
import type { Command } from 'commander'
import { join, resolve } from 'node:path'
import { generatePhantom } from '../../src-shared/phantom.js'
import { writeNifti } from '../volumes/nifti.js'
import { runScn, STAGES, type SegmentProgress } from '../inference/index.js'
import { DEFAULT_MODEL_ID, resolveModel } from '../inference/models.js'
import { evaluateLabels } from '../evaluation/metrics.js'
import { FLARE_LABELS } from '../../src-shared/labels.js'
import { userDataDir } from '../util/app-paths.js'
import type { DeviceChoice } from '../inference/onnx-session.js'

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('segment the bundled synthetic demo CT and compare the result with its known truth')
    .option('-o, --out <dir>', 'where to write demo-ct.nii.gz, demo-truth.nii.gz and demo-labels.nii.gz', join(userDataDir(), 'demo'))
    .option('--model <id>', 'model id (default: the shipped SCN)')
    .option('--device <device>', 'auto, cpu, gpu, cuda or webgpu', 'auto')
    .action(async (o: { out: string; model?: string; device: string }) => {
      const out = resolve(o.out)
      const t0 = performance.now()
      // An adult abdomen at a common CT resolution, kept moderate so the demo runs in seconds.
      const { ct, labels: truth } = generatePhantom({ dims: [192, 192, 120], spacing: [2, 2, 3], seed: 7 })
      await writeNifti(ct, join(out, 'demo-ct.nii.gz'))
      await writeNifti(truth, join(out, 'demo-truth.nii.gz'))
      process.stderr.write(`demo CT ${ct.dims.join('×')} at ${ct.spacing.join('×')} mm written to ${join(out, 'demo-ct.nii.gz')}\n`)
      let last = ''
      const onProgress = (p: SegmentProgress) => {
        if (p.stage !== last && p.stage !== 'done') process.stderr.write(`[${Math.round(p.fraction * 100).toString().padStart(3)}%] ${p.message}\n`)
        last = p.stage
      }
      const { labels, report } = await runScn(ct, { modelId: o.model, device: o.device as DeviceChoice, onProgress })
      await writeNifti(labels, join(out, 'demo-labels.nii.gz'))
      const metrics = evaluateLabels(labels.data, truth.data, ct.dims, ct.spacing, FLARE_LABELS.map((l) => l.value), 2)
      const lines = [
        `model ${report.modelId} ${report.modelVersion} on ${report.provider}${report.skippedProviders.length ? ` (${report.skippedProviders.map((s) => `${s.provider} skipped: ${s.reason}`).join('; ')})` : ''}`,
        `time: ${STAGES.filter((s) => s.stage in report.stageSeconds).map((s) => `${s.stage} ${report.stageSeconds[s.stage].toFixed(2)} s`).join(', ')}; total ${((performance.now() - t0) / 1000).toFixed(1)} s; peak memory ${(report.peakRssBytes / 2 ** 20).toFixed(0)} MB`,
        '',
        // unsure: the share of the organ's voxels the network chose by < 0.5 probability (the report's
        // unsureFraction; above 30 % the report asks for a review)
        `${'organ'.padEnd(10)} ${'predicted'.padStart(12)} ${'truth'.padStart(12)}   Dice   NSD@2mm  unsure`,
      ]
      for (const m of metrics) {
        const name = FLARE_LABELS.find((l) => l.value === m.label)!.name
        const unsure = report.organs.find((o) => o.value === m.label)?.unsureFraction
        const pct = unsure === undefined ? '-' : `${Math.round(unsure * 100)} %`
        lines.push(`${name.padEnd(10)} ${m.volumePredMl.toFixed(1).padStart(9)} mL ${m.volumeTruthMl.toFixed(1).padStart(9)} mL  ${m.dice.toFixed(3)}  ${m.nsd.toFixed(3)}  ${pct.padStart(6)}`)
      }
      for (const w of report.warnings) lines.push(`warning: ${w}`)
      lines.push('', `labels: ${join(out, 'demo-labels.nii.gz')}`)
      if (report.modelId === DEFAULT_MODEL_ID) {
        // say plainly what these figures are worth: the shipped model saw this phantom family in
        // training; what its card measured on a real CT it never saw is the figure that matters
        lines.push(
          `note: the shipped model trained (on a CPU) with phantoms from this generator, so these figures show the workflow,`,
          `      not accuracy on your scans. Its card (scn-studio models --json) lists every measurement; on real CT it never saw:`,
        )
        const card = resolveModel(report.modelId).card
        const heldOut = new Map<string, string[]>()
        for (const m of card.metrics) {
          // 'held-out real: <case>', or 'held-out real (<how>): <case>' (a leave-one-out companion run)
          const held = /^held-out real(?: \(([^)]*)\))?: (.*)$/.exec(m.dataset)
          if (m.name !== 'dice' || !m.organ || !held) continue
          const c = held[1] ? `${held[2]} (${held[1]})` : held[2]
          heldOut.set(c, [...(heldOut.get(c) ?? []), `${m.organ} ${m.value.toFixed(2)}`])
        }
        if (heldOut.size === 0) lines.push('      none (no held-out real case was measured)')
        for (const [c, organs] of heldOut) lines.push(`      ${c}: Dice ${organs.join(', ')}`)
      }
      process.stdout.write(lines.join('\n') + '\n')
    })
}
