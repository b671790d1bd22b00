#!/usr/bin/env node
// `npm run bench` (issue 15): the segment table (bench/segment-bench.ts: shipped model and 2 mm grid,
// three sizes, stages, wall, peak RSS, ratio to nibabel), the app's open and overlay times
// (bench/app-timings.ts), then the batch throughput (bin/bench-batch.mjs).
//   --presets      the ONNX Runtime session-options comparison instead (bench/scn-bench.ts)
//   --batch        only the batch throughput; --no-batch, --no-app skip those parts
// Arguments pass through (--sizes, --models).
import { register } from 'tsx/esm/api'
register()
const argv = process.argv
if (argv.includes('--batch')) await import('./bench-batch.mjs')
else if (argv.includes('--presets') || argv.includes('--child')) await import('../bench/scn-bench.ts')
else {
  const { segmentBench } = await import('../bench/segment-bench.ts')
  await segmentBench()
  if (!argv.includes('--no-app')) {
    const { appTimings } = await import('../bench/app-timings.ts')
    process.stdout.write('\n' + (await appTimings('large')) + '\n')
  }
  if (!argv.includes('--no-batch')) await import('./bench-batch.mjs')
}
