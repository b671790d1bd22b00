#!/usr/bin/env node
// `npm run bench`: runs bench/scn-bench.ts through tsx (no build step). Arguments pass through.
import { register } from 'tsx/esm/api'
register()
await import('../bench/scn-bench.ts')
