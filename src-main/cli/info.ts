import type { Command } from 'commander'
import { describeVolume } from '../volumes/read.js'
import { resolveInputPath } from '../volumes/input.js'

export function registerInfo(program: Command): void {
  program
    .command('info <path>')
    .description('print dimensions, spacing, orientation, origin and HU range of a volume (file or DICOM folder)')
    .option('--series <uid>', 'DICOM: the series to read when the folder holds several')
    .option('--json', 'machine-readable output')
    .action(async (path: string, o: { series?: string; json?: boolean }) => {
      const info = await describeVolume(resolveInputPath(path), { seriesUid: o.series })
      if (o.json) {
        process.stdout.write(JSON.stringify(info, null, 2) + '\n')
        return
      }
      const f = (a: number[], d = 3) => a.map((v) => v.toFixed(d)).join(' × ')
      const lines = [
        `${info.path} (${info.format})`,
        `  dimensions   ${info.dims.join(' × ')}`,
        `  spacing      ${f(info.spacing)} mm`,
        `  orientation  ${info.orientation}`,
        `  origin       ${info.origin.map((v) => v.toFixed(3)).join(', ')} mm (LPS)`,
        `  values       ${info.range[0]} .. ${info.range[1]} (${info.dataType})`,
      ]
      if (info.modality) lines.push(`  modality     ${info.modality}`)
      for (const w of info.warnings ?? []) lines.push(`  warning      ${w}`)
      if (info.series) {
        lines.push('  series:')
        for (const s of info.series) lines.push(`    ${s.seriesUid}  ${s.modality}  ${s.sliceCount} files  ${s.description}`)
      }
      process.stdout.write(lines.join('\n') + '\n')
    })
}
