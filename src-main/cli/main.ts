/**
 * `scn-studio` — headless commands. Each command lives in its own module; this file only wires
 * them to the command line and turns typed errors into messages and exit codes.
 */
import { Command } from 'commander'
import { VolumeError } from '../volumes/errors.js'
import { EXIT } from './exit-codes.js'

/**
 * Each command module, loaded only when its command runs (or for help / an unknown command): a
 * command's imports (ONNX Runtime, BullMQ, the web host, itk-wasm) cost startup time for every
 * other command otherwise — about half a second of `segment`'s wall time (issue 15).
 */
type Register = (program: Command) => void
const COMMANDS: Record<string, () => Promise<Register>> = {
  info: async () => (await import('./info.js')).registerInfo,
  evaluate: async () => (await import('./evaluate.js')).registerEvaluate,
  serve: async () => (await import('./serve.js')).registerServe,
  segment: async () => (await import('./segment.js')).registerSegment,
  models: async () => (await import('./models.js')).registerModels,
  // `export` and `export-workspace` live in one module
  export: async () => (await import('./export.js')).registerExport,
  demo: async () => (await import('./demo.js')).registerDemo,
  'import-flare21': async () => (await import('./import-flare21.js')).registerImportFlare21,
  batch: async () => (await import('./batch.js')).registerBatch,
  worker: async () => (await import('./worker.js')).registerWorker,
  pacs: async () => (await import('./pacs.js')).registerPacs,
}

const program = new Command()
program.name('scn-studio').description('SCN Studio: abdominal CT organ segmentation and annotation (headless commands)').showHelpAfterError()
const asked = process.argv[2] === 'export-workspace' ? 'export' : process.argv[2]
for (const name of asked && asked in COMMANDS ? [asked] : Object.keys(COMMANDS)) (await COMMANDS[name]())(program)

try {
  await program.parseAsync(process.argv)
} catch (e) {
  if (e instanceof VolumeError) {
    process.stderr.write(`error: ${e.message}\n`)
    process.exit(EXIT.badInput)
  }
  process.stderr.write(`error: ${(e as Error).message}\n`)
  process.exit(EXIT.failed)
}
