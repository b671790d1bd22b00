#!/usr/bin/env node
// `npm run bench -- --batch` (or `node bin/bench-batch.mjs`): batch throughput, in cases per
// minute, of the embedded pool with 1 and 2 workers on this machine, with the shipped model.
//
//   --cases N          phantom CTs in the batch (default 4)
//   --workers 1,2      pool sizes to measure
//   --model ID         model to run (default: the shipped scn-flare-organs, else the first installed)
//   --json             one JSON object at the end
//
// Each pool size is a real `scn-studio batch` process on a fresh dataset folder; the rate is taken
// from its own summary (planning and process start excluded). The CTs are generated phantoms,
// 128x128x96 at 3 mm (the `small` size of `npm run bench`), each with its own seed.
import { register } from 'tsx/esm/api'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs'
import { availableParallelism, tmpdir, totalmem } from 'node:os'
import { join, resolve } from 'node:path'

register()
const { generatePhantom } = await import('../src-shared/phantom.ts')
const { writeNifti } = await import('../src-main/volumes/nifti.ts')
const { resolveModel } = await import('../src-main/inference/models.ts')

const arg = (name) => {
  const i = process.argv.indexOf(name)
  return i >= 0 ? process.argv[i + 1] : undefined
}
const nCases = Number(arg('--cases') ?? 4)
const pools = (arg('--workers') ?? '1,2').split(',').map(Number)
const json = process.argv.includes('--json')
const model = resolveModel(arg('--model'))
const ROOT = resolve(import.meta.dirname, '..')

const work = mkdtempSync(join(tmpdir(), 'scn-bench-batch-'))
try {
  const inputs = join(work, 'inputs')
  mkdirSync(inputs)
  for (let i = 0; i < nCases; i++) {
    const ph = generatePhantom({ dims: [128, 128, 96], spacing: [3, 3, 3], seed: 100 + i })
    await writeNifti(ph.ct, join(inputs, `phantom_${String(i).padStart(3, '0')}.nii.gz`))
  }
  if (!json) {
    process.stderr.write(`batch throughput: ${nCases} phantom CTs 128x128x96 at 3 mm, model ${model.id} ${model.version}, CPU, ${availableParallelism()} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GB\n`)
  }
  const results = []
  for (const workers of pools) {
    const out = join(work, `dataset-${workers}`)
    const r = spawnSync(process.execPath, [join(ROOT, 'bin/scn-studio.mjs'), 'batch', inputs, '-o', out, '--model', model.id, '--device', 'cpu', '--concurrency', String(workers), '--labels-only', '--json'], { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 })
    const summary = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).find((e) => e.event === 'summary')
    if (!summary || summary.done !== nCases) {
      process.stderr.write(`batch with ${workers} worker(s) did not finish every case (exit ${r.status}):\n${r.stderr.slice(-3000)}\n`)
      process.exit(1)
    }
    const perMinute = (summary.ran / summary.seconds) * 60
    results.push({ workers, cases: summary.ran, seconds: summary.seconds, casesPerMinute: perMinute })
    if (!json) process.stdout.write(`  ${String(workers).padStart(2)} worker(s): ${perMinute.toFixed(2).padStart(7)} cases/min  (${summary.ran} cases in ${summary.seconds.toFixed(1)} s)\n`)
  }
  if (json) process.stdout.write(JSON.stringify({ model: { id: model.id, version: model.version }, cores: availableParallelism(), cases: nCases, grid: '128x128x96 at 3 mm', results }, null, 2) + '\n')
} finally {
  rmSync(work, { recursive: true, force: true })
}
