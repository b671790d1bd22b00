import type { Command } from 'commander'
import { ImportError } from '../import/errors.js'
import { addCardMetric, importFlare21 } from '../import/import-flare21.js'
import { checkLocalization } from '../import/localization-check.js'
import { EXIT } from './exit-codes.js'

interface Opts {
  template?: string
  out?: string
  id?: string
  allowPartial?: boolean
  overwrite?: boolean
  checkCt?: string
  checkLabels?: string
  checkLabelValues: string
  json?: boolean
}

export function registerImportFlare21(program: Command): void {
  program
    .command('import-flare21 <folder>')
    .description("convert the FLARE21 authors' TensorFlow SavedModels (submitted_saved_models/: localization/, segmentation/) into a SCN Studio model in your user models folder (GPL-3.0 weights; no Python or TensorFlow needed)")
    .option('--template <dir>', 'model folder whose ONNX graphs to fill (default: an installed SCN Studio model with the FLARE21 architecture)')
    .option('--out <dir>', 'output model folder (default: <user models folder>/flare21-efficientscn)')
    .option('--id <id>', 'model id written into the card', 'flare21-efficientscn')
    .option('--allow-partial', 'for testing: import only the networks whose data files are present (the result cannot segment)')
    .option('--overwrite', 'replace an existing model folder')
    .option('--check-ct <ct>', 'after importing, run the localization net on this CT and compare with --check-labels (Dice, written into the card)')
    .option('--check-labels <labels>', 'reference labelmap on the CT grid for --check-ct')
    .option('--check-label-values <list>', 'label values whose union is the reference foreground', '1,2,3,5,7')
    .option('--json', 'machine-readable output')
    .action(async (folder: string, o: Opts) => {
      const log = o.json ? () => {} : (l: string) => process.stdout.write(l + '\n')
      try {
        const r = await importFlare21({ source: folder, template: o.template, out: o.out, id: o.id, allowPartial: o.allowPartial, overwrite: o.overwrite, log })
        let check: Awaited<ReturnType<typeof checkLocalization>> | undefined
        if (o.checkCt || o.checkLabels) {
          if (!o.checkCt || !o.checkLabels) throw new ImportError('unsupported', o.checkCt ?? o.checkLabels ?? folder, '--check-ct and --check-labels go together')
          const values = o.checkLabelValues.split(',').map((v) => Number(v.trim()))
          check = await checkLocalization(r.dir, o.checkCt, o.checkLabels, values)
          await addCardMetric(r.dir, {
            name: 'dice-localization-foreground',
            value: Number(check.dice.toFixed(4)),
            dataset: o.checkCt,
            method: `localization foreground (p > 0.5) vs union of labels ${values.join(',')} of ${o.checkLabels}, both on the ${check.grid.dims.join('x')} grid at ${check.grid.spacing.map((s) => s.toFixed(2)).join('x')} mm`,
          })
          log(`localization check: Dice ${check.dice.toFixed(3)} on ${check.grid.dims.join('x')} at ${check.grid.spacing.map((s) => s.toFixed(2)).join('x')} mm (written into the card)`)
        }
        if (r.missing.length) log(`PARTIAL import: ${r.missing.map((m) => m.reason).join('; ')}`)
        if (o.json) process.stdout.write(JSON.stringify({ dir: r.dir, networks: r.networks.map(({ mapping: _m, ...rest }) => rest), missing: r.missing, check }, null, 2) + '\n')
      } catch (e) {
        if (e instanceof ImportError) {
          process.stderr.write(`error: ${e.message}\n`)
          process.exit(EXIT.badInput)
        }
        throw e
      }
    })
}
