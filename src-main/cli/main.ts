/**
 * `scn-studio` — headless commands. Each command lives in its own module; this file only wires
 * them to the command line and turns typed errors into messages and exit codes.
 */
import { Command } from 'commander'
import { VolumeError } from '../volumes/errors.js'
import { registerInfo } from './info.js'
import { registerEvaluate } from './evaluate.js'
import { registerServe } from './serve.js'
import { registerSegment } from './segment.js'
import { registerModels } from './models.js'
import { registerExport } from './export.js'
import { registerDemo } from './demo.js'
import { registerImportFlare21 } from './import-flare21.js'
import { registerBatch } from './batch.js'
import { registerWorker } from './worker.js'
import { registerPacs } from './pacs.js'
import { EXIT } from './exit-codes.js'


const program = new Command()
program.name('scn-studio').description('SCN Studio: abdominal CT organ segmentation and annotation (headless commands)').showHelpAfterError()
registerInfo(program)
registerEvaluate(program)
registerServe(program)
registerSegment(program)
registerModels(program)
registerExport(program)
registerDemo(program)
registerImportFlare21(program)
registerBatch(program)
registerWorker(program)
registerPacs(program)

// Each command registers itself here, one line per command module.
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
