/**
 * `npm run bench` (issue 15): the user's whole path, `scn-studio segment ct.nii.gz -o labels.nii.gz`,
 * on generated CTs of three sizes, with the shipped model (segmentation at its card's grid) and with
 * the authors' 2 mm grid (SCN-sized graphs with random weights, bench/make_bench_model.py), in one
 * table: each stage, reading and writing, total wall and peak RSS as /usr/bin/time measures them,
 * and the ratio of the wall time to reading the same file with nibabel (so that figures from
 * different machines compare). Then the app's open-to-first-render and result-to-overlay times
 * (bench/app-timings.ts) unless --no-app.
 *
 *   npm run bench -- --sizes small,large --models shipped
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join, resolve } from 'node:path'
import { generatePhantom } from '../src-shared/phantom.js'
import { writeNifti } from '../src-main/volumes/nifti.js'
import { STAGES } from '../src-main/inference/index.js'
import type { Vec3 } from '../src-shared/volume.js'
import { PYTHON } from '../test/helpers/python.js'

const ROOT = resolve(import.meta.dirname, '..')
export const SIZES: Record<string, { dims: Vec3; spacing: Vec3; note: string }> = {
  small: { dims: [128, 128, 96], spacing: [3, 3, 3], note: '128x128x96 at 3 mm' },
  medium: { dims: [256, 256, 160], spacing: [1.6, 1.6, 2.5], note: '256x256x160 at 1.6x1.6x2.5 mm' },
  large: { dims: [512, 512, 300], spacing: [0.8, 0.8, 2.5], note: '512x512x300 at 0.8x0.8x2.5 mm (the issue\'s target)' },
}

interface Row {
  size: string
  model: string
  stages: Record<string, number>
  wallSeconds: number
  peakRssBytes: number
  nibabelSeconds: number
}

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name)
  return i >= 0 ? process.argv[i + 1] : undefined
}
const mb = (b: number) => `${(b / 2 ** 20).toFixed(0)} MB`

/** nibabel reading the whole voxel array (the reference "one read of the file"); best of 2. */
function nibabelSeconds(path: string): number {
  const code = 'import sys,time,numpy as np,nibabel as nib\nbest=1e9\nfor _ in range(2):\n t=time.perf_counter(); a=np.asanyarray(nib.load(sys.argv[1]).dataobj); best=min(best,time.perf_counter()-t)\nprint(best)'
  const r = spawnSync(PYTHON, ['-c', code, path], { encoding: 'utf8' })
  return r.status === 0 ? Number(r.stdout.trim()) : NaN
}

/** `scn-studio segment` under /usr/bin/time: its report's stages plus wall and max RSS. */
function segmentOnce(ct: string, out: string, modelId: string, env: NodeJS.ProcessEnv): { report: Record<string, unknown>; wall: number; rssKb: number } {
  const time = existsSync('/usr/bin/time') ? ['/usr/bin/time', '-f', '%e %M'] : []
  const cmd = [...time, process.execPath, join(ROOT, 'bin', 'scn-studio.mjs'), 'segment', ct, '-o', out, '--model', modelId, '--device', 'cpu', '--json', '--overwrite']
  const t0 = performance.now()
  const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8', env, maxBuffer: 16 * 1024 * 1024 })
  const wall = (performance.now() - t0) / 1000
  if (r.status !== 0) throw new Error(`segment failed (${r.status}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`)
  const report = JSON.parse(r.stdout) as Record<string, unknown>
  const m = r.stderr.trim().split('\n').at(-1)!.match(/^([\d.]+) (\d+)$/)
  return { report, wall: m ? Number(m[1]) : wall, rssKb: m ? Number(m[2]) : Number(report.peakRssBytes) / 1024 }
}

export async function segmentBench(): Promise<void> {
  const sizes = (arg('--sizes') ?? 'small,medium,large').split(',')
  const models = (arg('--models') ?? 'shipped,2mm').split(',')
  const tmp = mkdtempSync(join(tmpdir(), 'scn-segbench-'))
  const home = join(tmp, 'home')
  const log = (s: string) => process.stderr.write(s + '\n')
  try {
    const env = { ...process.env, SCN_STUDIO_HOME: home }
    const shipped = JSON.parse(readFileSync(join(ROOT, 'models', 'scn-flare-organs', 'model.json'), 'utf8')) as { id: string; version: string; stages: { segmentation: { spacing: number[] } } }
    const modelIds: Record<string, { id: string; note: string }> = {
      shipped: { id: shipped.id, note: `${shipped.id} ${shipped.version} (segmentation at ${shipped.stages.segmentation.spacing[0]} mm)` },
      '2mm': { id: 'bench-scn-shaped', note: 'the authors\' 2 mm grid: SCN-sized graphs, random weights (bench/make_bench_model.py)' },
    }
    if (models.includes('2mm')) {
      const r = spawnSync(PYTHON, [join(ROOT, 'bench', 'make_bench_model.py'), join(home, 'models', 'bench-scn-shaped')], { encoding: 'utf8' })
      if (r.status !== 0) throw new Error(`bench/make_bench_model.py failed: ${r.stderr}`)
    }
    log(`machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${mb(totalmem())} RAM, node ${process.version}`)
    const rows: Row[] = []
    for (const size of sizes) {
      const spec = SIZES[size]
      if (!spec) throw new Error(`unknown size "${size}" (small, medium, large)`)
      log(`generating ${spec.note} as .nii.gz ...`)
      const ctPath = join(tmp, `${size}.nii.gz`)
      const ph = generatePhantom({ dims: spec.dims, spacing: spec.spacing, seed: 7 })
      await writeNifti(ph.ct, ctPath)
      const nib = nibabelSeconds(ctPath)
      for (const model of models) {
        log(`  segment ${size} with ${model} ...`)
        // the first run warms the page cache and the compiled CLI; the second is measured
        segmentOnce(ctPath, join(tmp, 'labels.nii.gz'), modelIds[model]!.id, env)
        const { report, wall, rssKb } = segmentOnce(ctPath, join(tmp, 'labels.nii.gz'), modelIds[model]!.id, env)
        const stages = { ...(report.stageSeconds as Record<string, number>), read: Number(report.readSeconds ?? NaN), write: Number(report.writeSeconds ?? NaN) }
        rows.push({ size, model, stages, wallSeconds: wall, peakRssBytes: rssKb * 1024, nibabelSeconds: nib })
      }
      rmSync(ctPath, { force: true })
    }
    const stageNames = ['read', ...STAGES.map((s) => s.stage), 'write']
    const head = ['size', 'model', ...stageNames, 'wall', 'peak RSS', 'nibabel read', 'wall / nibabel']
    const table = rows.map((r) => [
      r.size,
      r.model,
      ...stageNames.map((s) => (Number.isFinite(r.stages[s]) ? (r.stages[s] ?? 0).toFixed(2) : '–')),
      `${r.wallSeconds.toFixed(2)} s`,
      mb(r.peakRssBytes),
      `${r.nibabelSeconds.toFixed(2)} s`,
      (r.wallSeconds / r.nibabelSeconds).toFixed(1),
    ])
    const widths = head.map((h, i) => Math.max(h.length, ...table.map((t) => t[i]!.length)))
    const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')
    const out = [`scn-studio segment, file to written labels (${cpus().length} cores, CPU provider; stages in s, wall and peak RSS from /usr/bin/time)`, '']
    for (const s of sizes) out.push(`  ${s}: ${SIZES[s]!.note}`)
    for (const m of models) out.push(`  ${m}: ${modelIds[m]!.note}`)
    out.push('', line(head), line(widths.map((w) => '-'.repeat(w))), ...table.map(line), '')
    out.push('wall = the whole process (start, read, the five stages, write, exit); nibabel read = np.asanyarray(nib.load(f).dataobj), best of 2.')
    process.stdout.write(out.join('\n') + '\n')
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) await segmentBench()
