/**
 * `scn-studio segment <ct> -o <labels.nii.gz>`: runs the SCN on a CT file or DICOM folder, writes
 * the labels on the CT's own grid and a JSON report beside them (<out>.report.json), and prints a
 * summary: provider, time per stage, peak memory, organ volumes. Ctrl-C cancels cleanly.
 */
import type { Command } from 'commander'
import { existsSync, mkdirSync, statSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { readCt, writeVolume } from '../volumes/read.js'
import { VolumeError } from '../volumes/errors.js'
import { resolveInputPath } from '../volumes/input.js'
import { runScn, prestartEngine, liveWorkers, SegmentCancelledError, STAGES, type SegmentProgress, type SegmentReport } from '../inference/index.js'
import type { DeviceChoice } from '../inference/onnx-session.js'
import { writeFileAtomic } from '../util/atomic-write.js'
import { CliError, DEVICES, EXIT, resolveModelForCli } from './exit-codes.js'
import { PacsError, resolveSeriesInput } from '../pacs/index.js'


export interface SegmentCliReport extends SegmentReport {
  /** reading the CT and writing the labels, s (the pipeline's stages are in stageSeconds) */
  readSeconds: number
  writeSeconds: number
  input: string
  output: string
  dims: number[]
  spacing: number[]
  totalSeconds: number
  createdAt: string
}


function progressPrinter(tty: boolean): { onProgress: (p: SegmentProgress) => void; done: () => void } {
  let lastStage = ''
  let lastLine = ''
  if (!tty) {
    return {
      onProgress: (p) => {
        if (p.stage === lastStage || p.stage === 'done') return
        lastStage = p.stage
        process.stderr.write(`[${Math.round(p.fraction * 100).toString().padStart(3)}%] ${p.message}\n`)
      },
      done: () => undefined,
    }
  }
  const width = 30
  return {
    onProgress: (p) => {
      const filled = Math.round(p.fraction * width)
      const line = `\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${Math.round(p.fraction * 100).toString().padStart(3)}% ${p.message}`.slice(0, (process.stderr.columns || 100) - 1)
      if (line === lastLine) return
      process.stderr.write(line.padEnd(lastLine.length) + '')
      lastLine = line
    },
    done: () => {
      if (lastLine) process.stderr.write('\r' + ' '.repeat(lastLine.length) + '\r')
    },
  }
}

function mb(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(0)} MB`
}

export function formatSummary(r: SegmentCliReport): string {
  const lines = [`labels written to ${r.output}`, `  model        ${r.modelId} ${r.modelVersion}`, `  provider     ${r.provider}`]
  for (const s of r.skippedProviders) lines.push(`               (${s.provider} skipped: ${s.reason})`)
  lines.push('  time per stage:')
  lines.push(`    ${'reading the CT'.padEnd(20)} ${r.readSeconds.toFixed(2).padStart(7)} s`)
  for (const s of STAGES) if (s.stage in r.stageSeconds) lines.push(`    ${s.stage.padEnd(20)} ${r.stageSeconds[s.stage].toFixed(2).padStart(7)} s`)
  lines.push(`    ${'writing the labels'.padEnd(20)} ${r.writeSeconds.toFixed(2).padStart(7)} s`)
  lines.push(`    ${'total'.padEnd(20)} ${r.totalSeconds.toFixed(2).padStart(7)} s (including reading and writing)`)
  lines.push(`  peak memory  ${mb(r.peakRssBytes)} (resident set size of the whole process)`)
  lines.push('  organ volumes:')
  for (const o of r.organs) {
    const unsure = o.unsureFraction !== undefined && o.voxels > 0 ? `, ${(o.unsureFraction * 100).toFixed(0)} % unsure` : ''
    lines.push(`    ${o.name.padEnd(12)} ${o.volumeMl.toFixed(1).padStart(9)} mL  (${o.voxels} voxels${unsure})`)
  }
  if (r.warnings.length) {
    lines.push('  warnings:')
    for (const w of r.warnings) lines.push(`    ! ${w}`)
  }
  return lines.join('\n')
}

export function registerSegment(program: Command): void {
  program
    .command('segment <input>')
    .description('segment liver, kidneys, spleen and pancreas in a CT (NIfTI, NRRD, MHA or DICOM folder) with the SCN')
    .requiredOption('-o, --output <file>', 'labels to write (.nii.gz, .nii or .nrrd); the report goes to <file>.report.json')
    .option('--model <id>', 'model id (see `scn-studio models`); default scn-flare-organs, else the first installed')
    .option('--device <device>', `where to run: ${DEVICES.join(', ')} (auto tries cuda, webgpu, then cpu)`, 'auto')
    .option('--series <uid>', 'DICOM: the series to read when the folder holds several')
    .option('--json', 'print the report as JSON on stdout (progress stays on stderr)')
    .option('--overwrite', 'replace the output (and its report) if it exists; without it an existing file is never replaced')
    .action(async (input: string, o: SegmentCliOptions) => {
      try {
        const code = await segmentCommand(input, o)
        process.exitCode = code
      } catch (e) {
        const code = e instanceof CliError ? e.code : EXIT.failed
        process.stderr.write(`error: ${(e as Error).message}\n`)
        process.exit(code)
      }
    })
}

interface SegmentCliOptions {
  output: string
  model?: string
  device: string
  series?: string
  json?: boolean
  overwrite?: boolean
}

async function segmentCommand(input: string, o: SegmentCliOptions): Promise<number> {
  const t0 = performance.now()
  const device = o.device as DeviceChoice
  if (!DEVICES.includes(device)) throw new CliError(EXIT.usage, `--device must be one of ${DEVICES.join(', ')} (got "${o.device}")`)
  const out = resolve(o.output)
  if (!/\.(nii|nii\.gz|nrrd)$/i.test(out)) throw new CliError(EXIT.usage, `${o.output}: the output must end in .nii.gz, .nii or .nrrd`)
  if (existsSync(out) && statSync(out).isDirectory()) throw new CliError(EXIT.usage, `${o.output}: is a folder; give a file name such as ${o.output}/labels.nii.gz`)
  // labels someone may have corrected are never replaced by a new prediction without being asked
  if (existsSync(out) && !o.overwrite) throw new CliError(EXIT.usage, `${o.output}: exists; pass --overwrite to replace it (the file is left as it is)`)
  if (resolve(input) === out) throw new CliError(EXIT.usage, `${o.output}: is the input CT itself; choose another output file`)

  // the model first: a missing model should not cost reading a large CT
  const model = resolveModelForCli(o.model)

  let ct
  const tRead = performance.now()
  // the engine's worker loads ONNX Runtime on the other core while this thread reads the CT
  const engine = prestartEngine()
  try {
    // a PACS series URL becomes its cached local folder (retrieved whole, CT only, or an error)
    ct = await readCt(resolveInputPath(await resolveSeriesInput(input, { requireCt: true })), { seriesUid: o.series })
    if (ct.meta.modality && ct.meta.modality !== 'CT') {
      throw new CliError(EXIT.badInput, `${input}: this series is ${ct.meta.modality}, not CT: the SCN segments CT only`)
    }
  } catch (e) {
    // a refusal can come before ONNX Runtime has loaded in the worker: stopping it then, and
    // exiting, could abort the process (exit code lost: seen as a null status under load)
    await engine.dispose()
    if (e instanceof VolumeError) throw new CliError(EXIT.badInput, e.message)
    if (e instanceof PacsError) throw new CliError(e.exitCode, e.message)
    throw e
  }
  const readSeconds = (performance.now() - tRead) / 1000

  const ac = new AbortController()
  const onSigint = () => ac.abort()
  process.once('SIGINT', onSigint)
  process.once('SIGTERM', onSigint)
  const printer = progressPrinter(Boolean(process.stderr.isTTY))
  let result
  try {
    result = await runScn(ct, { modelId: model.id, device, signal: ac.signal, onProgress: printer.onProgress, transferCt: true, engine })
  } catch (e) {
    printer.done()
    if (e instanceof SegmentCancelledError) {
      // the engine's worker stops after its in-flight native step; exiting under it could abort
      process.stderr.write('cancelling (the current step finishes first; Ctrl-C again to quit at once)...\n')
      process.once('SIGINT', () => process.exit(EXIT.cancelled))
      const t = Date.now()
      while (liveWorkers() > 0 && Date.now() - t < 120_000) await new Promise((r) => setTimeout(r, 50))
      throw new CliError(EXIT.cancelled, 'cancelled: nothing was written')
    }
    throw new CliError(EXIT.failed, `segmentation failed: ${(e as Error).message}`)
  } finally {
    process.removeListener('SIGINT', onSigint)
    process.removeListener('SIGTERM', onSigint)
  }
  printer.done()

  const tWrite = performance.now()
  try {
    mkdirSync(dirname(out), { recursive: true })
    await writeVolume({ ...result.labels, meta: { ...result.labels.meta, sourcePath: input } }, out)
  } catch (e) {
    throw new CliError(EXIT.failed, `${out}: cannot write the labels (${(e as Error).message})`)
  }
  const report: SegmentCliReport = {
    ...result.report,
    peakRssBytes: Math.max(result.report.peakRssBytes, process.resourceUsage().maxRSS * 1024),
    readSeconds,
    writeSeconds: (performance.now() - tWrite) / 1000,
    input,
    output: out,
    dims: [...ct.dims],
    spacing: [...ct.spacing],
    totalSeconds: (performance.now() - t0) / 1000,
    createdAt: new Date().toISOString(),
  }
  try {
    await writeFileAtomic(`${out}.report.json`, JSON.stringify(report, null, 2) + '\n')
  } catch (e) {
    throw new CliError(EXIT.failed, `${out}.report.json: cannot write the report (${(e as Error).message})`)
  }
  process.stdout.write((o.json ? JSON.stringify(report, null, 2) : formatSummary(report)) + '\n')
  return EXIT.ok
}
