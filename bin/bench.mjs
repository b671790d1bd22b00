#!/usr/bin/env node
// `npm run bench`: runs bench/scn-bench.ts through tsx (no build step). Arguments pass through.
// Then the batch throughput (bin/bench-batch.mjs: cases per minute with 1 and 2 workers);
// `--batch` runs only that, `--no-batch` (or --json, which prints one object) skips it.
import { register } from 'tsx/esm/api'
register()
const argv = process.argv
if (argv.includes('--batch')) await import('./bench-batch.mjs')
else {
  await import('../bench/scn-bench.ts')
  if (!argv.includes('--child') && !argv.includes('--no-batch') && !argv.includes('--json')) await import('./bench-batch.mjs')
}
