/**
 * `scn-studio models [--json]`: the installed models (app and user folders), which one is the
 * default, and every broken model folder with the file and the problem.
 */
import type { Command } from 'commander'
import { listModels, resolveModel } from '../inference/index.js'
import { appModelsDir, userModelsDir } from '../util/app-paths.js'
import { EXIT } from './exit-codes.js'

export function registerModels(program: Command): void {
  program
    .command('models')
    .description('list the installed segmentation models (app and user model folders)')
    .option('--json', 'machine-readable output')
    .action((o: { json?: boolean }) => {
      const entries = listModels()
      let defaultId: string | undefined
      try {
        defaultId = resolveModel(undefined, entries).id
      } catch {
        defaultId = undefined
      }
      const broken = entries.filter((e) => e.card === null)
      if (o.json) {
        const rows = entries.map((e) => ({
          id: e.id,
          version: e.version,
          description: e.description,
          dir: e.dir,
          source: e.source,
          default: e.card !== null && e.id === defaultId && e === entries.find((x) => x.card !== null && x.id === defaultId),
          labels: e.card?.labels.map((l) => ({ value: l.value, name: l.name })) ?? [],
          license: e.card?.license,
          metrics: e.card?.metrics ?? [],
          error: e.error,
        }))
        process.stdout.write(JSON.stringify({ appModelsDir: appModelsDir(), userModelsDir: userModelsDir(), default: defaultId ?? null, models: rows }, null, 2) + '\n')
      } else {
        const ok = entries.filter((e) => e.card !== null)
        if (ok.length === 0) process.stdout.write('no models installed\n')
        for (const e of ok) {
          const mark = e.id === defaultId && e === ok.find((x) => x.id === defaultId) ? ' (default)' : ''
          process.stdout.write(`${e.id} ${e.version}${mark}  [${e.source}] ${e.dir}\n    ${e.description}\n    labels: ${e.card!.labels.map((l) => `${l.value} ${l.name}`).join(', ')}\n`)
        }
        process.stdout.write(`model folders: ${userModelsDir()} (user), ${appModelsDir()} (app)\n`)
        for (const b of broken) process.stderr.write(`error: ${b.error}\n`)
      }
      // usable models -> 0 even if some folder is broken (reported above); none at all -> failure
      process.exitCode = defaultId ? EXIT.ok : EXIT.failed
    })
}
