/**
 * `scn-studio export` (one CT + labels file -> nifti | nnunet | dicom-seg | seg-nrrd) and
 * `scn-studio export-workspace` (every annotated case of a workspace -> one nnU-Net dataset).
 */
import type { Command } from 'commander'
import { readCt, readLabels } from '../volumes/read.js'
import { resolveInputPath } from '../volumes/input.js'
import { defaultLabelTable } from '../cases/label-table.js'
import { Workspace } from '../cases/workspace.js'
import type { CaseStatus } from '../cases/schemas.js'
import { exportLabels, exportWorkspace, type ExportFormat } from '../export/case-export.js'
import { ExportFormatSchema } from '../../src-shared/contract/schemas.js'
import { EXIT } from './exit-codes.js'
import { resolveSeriesInput, stowExported } from '../pacs/index.js'

const FORMATS: readonly ExportFormat[] = ExportFormatSchema.options

interface ExportOpts {
  ct: string
  labels: string
  format: string
  output: string
  prediction?: string
  modelId?: string
  modelVersion?: string
  provider?: string
  annotator?: string
  caseId?: string
  workspace?: string
  series?: string
  overwrite?: boolean
  newStudy?: boolean
  stow?: string
}

export function registerExport(program: Command): void {
  program
    .command('export')
    .description('export a labelmap on its CT as NIfTI (+ JSON label table), an nnU-Net v2 dataset, DICOM SEG or Slicer .seg.nrrd, with a provenance record')
    .requiredOption('--ct <path>', 'the CT: a NIfTI/NRRD/MHA file or a DICOM folder (a DICOM SEG references the DICOM images; other CTs need --new-study)')
    .requiredOption('--labels <file>', 'labelmap on the CT grid (.nii.gz, .nrrd)')
    .requiredOption('--format <format>', FORMATS.join(' | '))
    .requiredOption('-o, --output <path>', 'output file (nifti, dicom-seg, seg-nrrd) or dataset folder (nnunet); never the CT, the labels or inside an opened DICOM folder')
    .option('--prediction <file>', 'the model prediction the labels started from (edit statistics, SEG algorithm type)')
    .option('--model-id <id>', 'model that made the prediction')
    .option('--model-version <version>', 'its version', 'unknown')
    .option('--provider <name>', 'execution provider that ran it', 'cpu')
    .option('--annotator <name>', 'who corrected the labels')
    .option('--case-id <id>', 'nnU-Net case identifier (default: from the labels file name)')
    .option('--workspace <dir>', 'take the label table from this workspace (default: the model organs)')
    .option('--series <uid>', 'DICOM: the series, when the folder holds several')
    .option('--overwrite', 'replace output files that exist (atomically); without it an existing output is refused')
    .option('--new-study', 'dicom-seg: write the CT as a new DICOM series (fresh UIDs, <output stem>_ct/) and a SEG that references it; needed for NIfTI/NRRD/MHA CTs and DICOM without UIDs')
    .option('--stow <base>', 'dicom-seg: also store the SEG on this DICOMweb server (base URL or configured name) with STOW-RS')
    .action(async (o: ExportOpts) => {
      if (!FORMATS.includes(o.format as ExportFormat)) {
        process.stderr.write(`error: --format must be one of ${FORMATS.join(', ')} (got "${o.format}")\n`)
        process.exit(EXIT.usage)
      }
      // a PACS series URL (--ct <base>/studies/<uid>/series/<uid>) continues as its cached DICOM folder
      o.ct = resolveInputPath(await resolveSeriesInput(o.ct, { requireCt: true }))
      const ct = await readCt(o.ct, { seriesUid: o.series })
      const labels = await readLabels(o.labels)
      const prediction = o.prediction ? (await readLabels(o.prediction)).data : undefined
      const table = o.workspace ? (await Workspace.open(o.workspace)).labelTable : defaultLabelTable()
      const model = o.modelId ? { id: o.modelId, version: o.modelVersion ?? 'unknown', provider: o.provider ?? 'cpu' } : undefined
      const caseId = o.caseId ?? o.labels.replace(/^.*[\\/]/, '').replace(/(\.seg)?\.(nii\.gz|nii|nrrd)$/i, '').replace(/[^A-Za-z0-9_-]+/g, '_')
      const files = await exportLabels(
        { ct, ctPath: o.ct, labels, table, prediction, model, ...(o.annotator ? { annotators: [o.annotator] } : {}) },
        o.format as ExportFormat,
        o.output,
        // the CT and labels are protected by the export itself; the prediction is an opened source too
        { caseId, overwrite: !!o.overwrite, newStudy: !!o.newStudy, protect: o.prediction ? [o.prediction] : [] },
      )
      process.stdout.write(files.join('\n') + '\n')
      if (o.stow) process.stdout.write((await stowExported(o.stow, files)) + '\n')
    })

  program
    .command('export-workspace <workspace>')
    .description('export the annotated cases of a workspace as one nnU-Net v2 dataset with an organ volume report')
    .requiredOption('-o, --output <dir>', 'dataset folder (e.g. Dataset501_Abdomen)')
    .option('--ignore-unapproved', 'label voxels of organs not yet approved in review as "ignore"')
    .option('--status <list>', 'comma-separated case statuses to include', 'in-progress,reviewed')
    .option('--overwrite', 'replace dataset files that exist (atomically); without it an existing dataset is refused')
    .action(async (dir: string, o: { output: string; ignoreUnapproved?: boolean; status: string; overwrite?: boolean }) => {
      const ws = await Workspace.open(dir)
      const statuses = o.status.split(',').map((s) => s.trim()) as CaseStatus[]
      const r = await exportWorkspace(ws, o.output, { ignoreUnapproved: o.ignoreUnapproved, statuses, overwrite: !!o.overwrite })
      process.stdout.write(`${r.cases.length} case(s): ${r.cases.join(', ')}\n${r.files.join('\n')}\n`)
    })
}
