/**
 * `npm run bench`: the whole SCN pipeline (read CT -> labels) on synthetic CTs of several sizes,
 * printing wall time per stage and peak RSS, with our ONNX Runtime session options
 * (onnx-session.ts lowMemorySessionOptions) against ONNX Runtime's defaults in the same run.
 * Every (size, options) pair runs in its own child process, so each peak RSS is its own.
 *
 *   npm run bench                         all sizes, both option sets
 *   npm run bench -- --sizes small,large  a subset (small, medium, large)
 *   npm run bench -- --presets low-memory
 *   npm run bench -- --json               one JSON object at the end
 *
 * The model: the SCN's real graphs at their real size with random weights (training/
 * export_onnx.py --random) plus an intensity-window answer (bench/make_bench_model.py), so the
 * crop is that of a plausible model on the phantom. Without training/ it falls back to the tiny
 * synthetic test model and says so (its network time is then meaningless).
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join, resolve } from 'node:path'
import { generatePhantom } from '../src-shared/phantom.js'
import { writeNifti } from '../src-main/volumes/nifti.js'
import { readCt } from '../src-main/volumes/read.js'
import { runScnWith, STAGES, type SessionPreset } from '../src-main/inference/index.js'
import { writeSyntheticScnModel } from '../test/fixtures/synthetic-scn.js'
import { PYTHON } from '../test/helpers/python.js'
import { SIZES } from './segment-bench.js'

const ROOT = resolve(import.meta.dirname, '..')

// the same three CTs as the segment table (one definition)
const PRESETS: SessionPreset[] = ['low-memory', 'mem-pattern-off', 'ort-defaults']

interface ChildResult {
  size: string
  preset: SessionPreset
  stageSeconds: Record<string, number>
  readSeconds: number
  totalSeconds: number
  rssAfterReadBytes: number
  peakRssBytes: number
  provider: string
  locInput: string
  segInput: string
  organsMl: Record<string, number>
  /** highest RSS sampled (every 20 ms, from the main thread) while each stage ran */
  stageRssBytes: Record<string, number>
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name)
  return i >= 0 ? process.argv[i + 1] : undefined
}

async function child(): Promise<void> {
  const [ctPath, preset, size, modelId] = [arg('--ct')!, arg('--preset') as SessionPreset, arg('--size')!, arg('--model')!]
  const t0 = performance.now()
  const ct = await readCt(ctPath)
  const readSeconds = (performance.now() - t0) / 1000
  const rssAfterReadBytes = process.resourceUsage().maxRSS * 1024
  if (process.env.SCN_BENCH_DEBUG) process.stderr.write(`[rss] after read: ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MB\n`)
  let locInput = ''
  let segInput = ''
  // the worker blocks in ONNX Runtime, this thread does not: sample the RSS per stage
  let stage = 'start'
  const stageRss: Record<string, number> = {}
  const sample = () => {
    const r = process.memoryUsage().rss
    if (r > (stageRss[stage] ?? 0)) stageRss[stage] = r
  }
  const timer = setInterval(sample, 20)
  const t1 = performance.now()
  const { report } = await runScnWith(ct, {
    modelId,
    device: 'cpu',
    sessionPreset: preset,
    onProgress: (p) => {
      sample()
      if (p.stage !== stage && process.env.SCN_BENCH_DEBUG) process.stderr.write(`[rss] entering ${p.stage}: ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MB\n`)
      stage = p.stage
      const m = p.message.match(/^(localization|segmentation) input (.*)$/)
      if (m?.[1] === 'localization') locInput = m[2]
      if (m?.[1] === 'segmentation') segInput = m[2]
    },
  })
  clearInterval(timer)
  const result: ChildResult = {
    size,
    preset,
    stageSeconds: report.stageSeconds,
    readSeconds,
    totalSeconds: (performance.now() - t1) / 1000,
    rssAfterReadBytes,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    provider: report.provider,
    locInput,
    segInput,
    organsMl: Object.fromEntries(report.organs.map((o) => [o.name, o.volumeMl])),
    stageRssBytes: stageRss,
  }
  process.stdout.write(JSON.stringify(result) + '\n')
}

function mb(b: number): string {
  return `${(b / 2 ** 20).toFixed(0)} MB`
}

async function parent(): Promise<void> {
  const sizes = (arg('--sizes') ?? 'small,medium,large').split(',')
  const presets = (arg('--presets')?.split(',') as SessionPreset[] | undefined) ?? PRESETS
  for (const s of sizes) if (!SIZES[s]) throw new Error(`unknown size "${s}" (small, medium, large)`)
  const tmp = mkdtempSync(join(tmpdir(), 'scn-bench-'))
  const home = join(tmp, 'home')
  const log = (s: string) => process.stderr.write(s + '\n')
  try {
    let modelId = 'bench-scn-shaped'
    let modelNote: string
    if (existsSync(join(ROOT, 'training', 'export_onnx.py'))) {
      const r = spawnSync(PYTHON, [join(ROOT, 'bench', 'make_bench_model.py'), join(home, 'models', modelId)], { encoding: 'utf8' })
      if (r.status !== 0) throw new Error(`bench/make_bench_model.py failed: ${r.stderr}`)
      modelNote = 'SCN-sized graphs (training/export_onnx.py --random: 1,270,090-parameter SCN + localization U-Net), random weights + intensity windows'
    } else {
      modelId = 'synthetic-scn'
      writeSyntheticScnModel(join(home, 'models', modelId), modelId)
      modelNote = 'NOTE: training/export_onnx.py is missing, so this uses the tiny synthetic test model: network times and memory are NOT those of the SCN'
    }
    log(`model: ${modelNote}`)
    log(`machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${mb(totalmem())} RAM, node ${process.version}`)
    const results: ChildResult[] = []
    for (const size of sizes) {
      const spec = SIZES[size]
      log(`generating ${spec.note} ...`)
      const ctPath = join(tmp, `${size}.nii`)
      {
        const ph = generatePhantom({ dims: spec.dims, spacing: spec.spacing, seed: 7 })
        // Bone edges blend through every organ window of the intensity stand-in, so its
        // "localization" would box the rib cage instead of the organs; a trained SCN boxes the
        // organs. Bone becomes soft tissue so the crop (and so the work) is that of a real run.
        const d = ph.ct.data
        for (let i = 0; i < d.length; i++) if (d[i] > 300) d[i] = 40
        await writeNifti(ph.ct, ctPath)
      }
      for (const preset of presets) {
        log(`  running ${size} with ${preset} session options ...`)
        const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'bench.mjs'), '--child', '--ct', ctPath, '--preset', preset, '--size', size, '--model', modelId], {
          encoding: 'utf8',
          env: { ...process.env, SCN_STUDIO_HOME: home, SCN_STUDIO_APP_MODELS: join(tmp, 'no-app-models') },
          maxBuffer: 16 * 1024 * 1024,
        })
        if (process.env.SCN_BENCH_DEBUG) log(r.stderr.trim())
        if (r.status !== 0) {
          log(`  FAILED (exit ${r.status}${r.signal ? `, ${r.signal}` : ''}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`)
          continue
        }
        results.push(JSON.parse(r.stdout.trim().split('\n').at(-1)!))
      }
      rmSync(ctPath, { force: true })
    }
    if (arg('--json') !== undefined || process.argv.includes('--json')) {
      process.stdout.write(JSON.stringify({ model: modelNote, cores: cpus().length, results }, null, 2) + '\n')
      return
    }
    const stageNames = STAGES.map((s) => s.stage)
    const head = ['size', 'session options', 'read', ...stageNames, 'pipeline', 'RSS after read', 'peak RSS']
    const rows = results.map((r) => [
      r.size,
      r.preset,
      `${r.readSeconds.toFixed(2)} s`,
      ...stageNames.map((s) => `${(r.stageSeconds[s] ?? 0).toFixed(2)} s`),
      `${r.totalSeconds.toFixed(2)} s`,
      mb(r.rssAfterReadBytes),
      mb(r.peakRssBytes),
    ])
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)))
    const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')
    const out = [`SCN pipeline benchmark (${cpus().length} cores, CPU provider; each row its own process)`, `model: ${modelNote}`, '']
    for (const s of sizes) out.push(`  ${s}: ${SIZES[s].note}`)
    out.push('', line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line), '')
    for (const r of results) {
    out.push(`  ${r.size}/${r.preset}: localization input ${r.locInput}; segmentation input ${r.segInput}`)
    out.push(`    RSS by stage: ${Object.entries(r.stageRssBytes).map(([k, v]) => `${k} ${mb(v)}`).join(', ')}`)
  }
    out.push('', 'pipeline = reading excluded, worker start + the five stages; peak RSS = the child process (CT, worker copy, ONNX Runtime).')
    process.stdout.write(out.join('\n') + '\n')
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
}

if (process.argv.includes('--child')) await child()
else await parent()
