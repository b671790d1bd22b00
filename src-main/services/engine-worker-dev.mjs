// Development entry of the engine worker: Node cannot start a worker from a .ts file, so register
// tsx in this thread first (like bin/scn-studio.mjs does for the CLI). Built apps use the bundled
// engine-worker.mjs instead.
import { register } from 'tsx/esm/api'
register()
await import('./engine-worker.ts')
