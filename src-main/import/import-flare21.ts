/**
 * `scn-studio import-flare21`: the FLARE21 authors' TensorFlow SavedModels (submitted_saved_models/
 * with localization/ and segmentation/, GPL-3.0) -> a SCN Studio model folder in the user's models
 * folder, in TypeScript only. The weights go into our own ONNX graphs (a template: any installed
 * SCN Studio model with the FLARE21 architecture, or --template), never into the app's models/.
 */
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join, relative, resolve } from 'node:path'
import { FLARE_LABELS } from '../../src-shared/labels.js'
import { parseModelCard, type ModelCard } from '../inference/model-card.js'
import { listModels } from '../inference/models.js'
import { appModelsDir, userModelsDir } from '../util/app-paths.js'
import { writeFileAtomic } from '../util/atomic-write.js'
import { convertNetwork, planMapping, type ConvertReport } from './convert.js'
import { ImportError } from './errors.js'
import type { NetworkKind } from './flare21-mapping.js'
import { listInitializers } from './onnx-initializers.js'
import { dataFileName, openTensorBundle } from './tensor-bundle.js'

export const FLARE21_MODEL_ID = 'flare21-efficientscn'
export const FLARE21_REPOSITORY = 'https://github.com/franzthaler/FLARE21-EfficientSCN'
const NETWORKS: NetworkKind[] = ['localization', 'segmentation']
const ONNX_FILE: Record<NetworkKind, string> = { localization: 'localization.onnx', segmentation: 'segmentation.onnx' }

export interface ImportFlare21Options {
  /** submitted_saved_models/ (or a folder that contains it) */
  source: string
  /** a model folder whose localization.onnx / segmentation.onnx are our FLARE21 graphs */
  template?: string
  /** output folder (default: <user models>/<id>) */
  out?: string
  id?: string
  /** import the networks whose data is present, for testing; the folder is then not a usable model */
  allowPartial?: boolean
  overwrite?: boolean
  /** default true; only tests pairing a real index with synthetic data turn it off */
  verifyChecksums?: boolean
  log?: (line: string) => void
}

export interface ImportFlare21Result {
  dir: string
  card: ModelCard
  networks: ConvertReport[]
  /** networks left out of a partial import, with why */
  missing: { network: NetworkKind; reason: string }[]
}

export function sha256File(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex')
}

/** The folder holding localization/ and segmentation/. */
export function resolveSourceDir(source: string): string {
  const s = resolve(source)
  if (!existsSync(s)) throw new ImportError('not-found', s, 'the folder does not exist')
  for (const c of [s, join(s, 'submitted_saved_models')]) {
    if (NETWORKS.some((n) => existsSync(join(c, n, 'variables', 'variables.index')))) return c
  }
  throw new ImportError('not-found', s, 'no FLARE21 SavedModels here: expected localization/variables/variables.index and segmentation/variables/variables.index (the submitted_saved_models folder of franzthaler/FLARE21-EfficientSCN)')
}

function templateFits(dir: string): boolean {
  try {
    for (const n of NETWORKS) {
      const names = new Set(listInitializers(readFileSync(join(dir, ONNX_FILE[n]))).map((i) => i.name))
      const probe = n === 'localization' ? ['unet.expanding.level4.conv1.weight', 'prediction.weight'] : ['spatial_configuration.unets.4.prediction.weight', 'local_appearance.unet.expanding.level4.conv1.bias']
      if (!probe.every((p) => names.has(p))) return false
    }
    return true
  } catch {
    return false
  }
}

/** The template graphs: --template, else the first installed model with the FLARE21 architecture. */
export function findTemplate(explicit: string | undefined, exclude?: string): string {
  if (explicit) {
    const d = resolve(explicit)
    for (const n of NETWORKS) if (!existsSync(join(d, ONNX_FILE[n]))) throw new ImportError('not-found', join(d, ONNX_FILE[n]), 'the template model folder has no such ONNX graph')
    return d
  }
  for (const m of listModels()) {
    if (exclude && resolve(m.dir) === resolve(exclude)) continue
    if (m.card && (m.card.source as { kind?: string } | undefined)?.kind === 'flare21-import') continue
    if (templateFits(m.dir)) return m.dir
  }
  throw new ImportError(
    'not-found',
    `${userModelsDir()} and ${appModelsDir()}`,
    'no SCN Studio model with the FLARE21 architecture is installed to take the graph from. Pass --template <model folder> (python3 training/export_onnx.py --random --out DIR makes one)',
  )
}

function fileRecord(root: string, file: string) {
  return { file: relative(root, file), bytes: statSync(file).size, sha256: sha256File(file) }
}

/**
 * The FLARE21 SCN's stage parameters: the original's inference settings (inference/inference.py).
 * The synthetic test model (test/fixtures/synthetic-scn.ts) uses them too, with its own file names.
 */
export function flare21Stages(files: Record<NetworkKind, string> = ONNX_FILE): ModelCard['stages'] {
  const norm = { type: 'clip-scale' as const, scale: 2048, min: -1, max: 1, offset: 0 }
  return {
    localization: {
      file: files.localization,
      spacing: [6, 6, 6] as [number, number, number],
      validSizes: { x: [32, 48, 64, 80], y: [32, 48, 64, 80], z: Array.from({ length: 15 }, (_, i) => 32 + 16 * i) },
      normalization: norm,
      padValue: -1024,
      // inference.py: localization_sigma_tf = 0.0 (training smoothed with sigma 3; inference does not)
      smoothingSigmaMm: 0,
      // the original always localizes (a slab gives an empty box, then the whole field of view)
      minScanExtentMm: 0,
      resampling: 'area' as const,
      inputName: 'image',
      outputName: 'probs',
      foregroundChannel: 1,
      marginMm: 10,
      // the original labels a voxel foreground when logit1 > logit0, i.e. softmax p1 > 0.5
      foregroundThreshold: 0.5,
    },
    segmentation: {
      file: files.segmentation,
      spacing: [2, 2, 2] as [number, number, number],
      validSizes: { x: [32, 64, 96, 128, 160], y: [32, 64, 96, 128], z: [32, 64, 96, 128, 160] },
      normalization: norm,
      // crop_and_pad_with_bbox pads the cropped CT with pad_image's default 0 (HU), not -1024
      padValue: 0,
      // ... on every side (their slabs end in 0 HU too)
      zPadding: 'constant' as const,
      inPlanePadding: 'constant' as const,
      smoothingSigmaMm: 1,
      resampling: 'area' as const,
      inputName: 'image',
      outputName: 'probs',
    },
  }
}

/** The card of an imported model (its stages: flare21Stages). */
export function flare21Card(id: string, source: Record<string, unknown>, partial: boolean): ModelCard {
  const card = {
    id,
    version: '1.0.0',
    description: partial
      ? 'FLARE21 EfficientSCN (Thaler et al.), PARTIAL import for testing: only the networks listed in source.networks were converted; not usable for segmentation.'
      : 'FLARE21 EfficientSCN (Thaler et al.): the authors\' published TensorFlow weights, converted to ONNX by SCN Studio.',
    license: 'GPL-3.0',
    trainingData: 'FLARE21 training set (361 abdominal CTs; liver, kidneys, spleen, pancreas), as published by the authors',
    labels: FLARE_LABELS.map((l) => ({ ...l, color: [...l.color] as [number, number, number], snomed: { ...l.snomed } })),
    stages: flare21Stages(),
    metrics: [],
    training: {
      framework: 'TensorFlow 2 / Keras, mixed float16 (weights stored float32)',
      weights: 'exponential moving average (decay 0.999) of the trained weights: the authors save the EMA values into the variables',
      paper: 'Thaler F, Payer C, Bischof H, Stern D. Efficient multi-organ segmentation using SpatialConfiguration-Net with low GPU memory requirements. FLARE21, MICCAI 2021.',
    },
    source,
  }
  return parseModelCard(`${id}/model.json`, card)
}

/**
 * How the original preprocessing differs from a plain reading of docs/scn-model.md, written into the card
 * (source.preprocessingNotes) for whoever runs or compares the model.
 */
export const PREPROCESSING_NOTES = [
  'Localization input: no Gaussian smoothing at inference (localization_sigma 0.0), area (box-mean) resize to ceil(size*spacing/6 mm) voxels, centre padding with -1024 HU to the smallest valid size strictly larger than needed, then clip(HU/2048, -1, 1).',
  'Foreground: voxels where logit 1 > logit 0 (softmax p > 0.5); box from the first to last foreground index on each axis, plus 10 mm on each side.',
  'Segmentation input: Gaussian sigma 1 mm, crop of the box (centred, extent = valid size x spacing), padding outside the CT with 0 HU (pad_image default), area resize, clip(HU/2048, -1, 1).',
  'Output: probabilities resampled linearly to the cropped CT size, argmax, then placed back; no connected-component post-processing.',
  'Networks ran in float16 (mixed precision) in the original; the ONNX graphs run in float32, so outputs differ at float16 rounding level.',
  'The original reorients every CT to LPS identity direction before processing (DICOMOrient); SCN Studio folds that into its resampling.',
]

export async function importFlare21(opts: ImportFlare21Options): Promise<ImportFlare21Result> {
  const log = opts.log ?? (() => {})
  const srcDir = resolveSourceDir(opts.source)
  const id = opts.id ?? FLARE21_MODEL_ID
  const outDir = resolve(opts.out ?? join(userModelsDir(), id))
  const appDir = resolve(appModelsDir())
  if (outDir === appDir || outDir.startsWith(appDir + '/')) {
    throw new ImportError('unsupported', outDir, `converted FLARE21 weights (GPL-3.0) never go into the app's own models folder ${appDir}; import into the user models folder`)
  }
  if (existsSync(outDir) && !opts.overwrite) throw new ImportError('exists', outDir, 'a model folder is already there (use --overwrite to replace it)')

  // What is there: each network needs its index and its data file.
  const present: NetworkKind[] = []
  const missing: ImportFlare21Result['missing'] = []
  for (const n of NETWORKS) {
    const index = join(srcDir, n, 'variables', 'variables.index')
    if (!existsSync(index)) {
      missing.push({ network: n, reason: `${index}: the ${n} index (variables.index) is missing` })
      continue
    }
    const bundle = openTensorBundle(index)
    const absent = Array.from({ length: bundle.header.numShards }, (_, s) => bundle.dataFile(s)).filter((f) => !existsSync(f))
    if (absent.length) missing.push({ network: n, reason: `${absent[0]}: the ${n} data file is missing (the index alone holds no weights)` })
    else present.push(n)
  }
  if (missing.length && !opts.allowPartial) {
    const m = missing[0]
    throw new ImportError('not-found', m.reason.split(': ')[0], `${m.reason.split(': ').slice(1).join(': ')}. A usable model needs both networks (localization and segmentation) with their data files; --allow-partial imports only what is present, for testing`)
  }
  if (!present.length) throw new ImportError('not-found', srcDir, `nothing to import: ${missing.map((m) => m.reason).join('; ')}`)

  const templateDir = findTemplate(opts.template, outDir)
  log(`template graphs: ${templateDir}`)

  const reports: ConvertReport[] = []
  const files = new Map<string, Uint8Array>()
  const inputs: ReturnType<typeof fileRecord>[] = []
  for (const n of present) {
    const bundle = openTensorBundle(join(srcDir, n, 'variables', 'variables.index'))
    const templateFile = join(templateDir, ONNX_FILE[n])
    const { onnx, report } = convertNetwork(n, bundle, new Uint8Array(readFileSync(templateFile)), templateFile, { verifyChecksums: opts.verifyChecksums })
    log(`${n}: ${report.mapped} tensors mapped (${report.parameters.toLocaleString('en')} parameters), ${report.skipped.length} skipped, object graph ${report.objectGraph} (${report.verifiedByObjectGraph} checked)`)
    reports.push(report)
    files.set(ONNX_FILE[n], onnx)
    inputs.push(fileRecord(srcDir, bundle.indexFile))
    for (let s = 0; s < bundle.header.numShards; s++) inputs.push(fileRecord(srcDir, dataFileName(bundle.prefix, s, bundle.header.numShards)))
    const pb = join(srcDir, n, 'saved_model.pb')
    if (existsSync(pb)) inputs.push(fileRecord(srcDir, pb))
  }
  // planMapping of a partial import's missing network still validates its index when present
  for (const m of missing) {
    const index = join(srcDir, m.network, 'variables', 'variables.index')
    if (existsSync(index)) {
      const templateFile = join(templateDir, ONNX_FILE[m.network])
      planMapping(m.network, openTensorBundle(index), new Uint8Array(readFileSync(templateFile)), templateFile)
      inputs.push(fileRecord(srcDir, index))
    }
  }

  const source = {
    kind: 'flare21-import',
    repository: FLARE21_REPOSITORY,
    license: 'GPL-3.0 (the authors\' weights; this converted copy is GPL-3.0 too)',
    importedFrom: srcDir,
    importedAt: new Date().toISOString(),
    importer: 'scn-studio import-flare21',
    partial: missing.length > 0,
    missing: missing.map((m) => m.reason),
    inputs,
    template: { dir: templateDir, files: NETWORKS.map((n) => fileRecord(templateDir, join(templateDir, ONNX_FILE[n]))) },
    networks: reports.map((r) => ({ network: r.network, mapped: r.mapped, parameters: r.parameters, skipped: r.skipped, objectGraph: r.objectGraph, verifiedByObjectGraph: r.verifiedByObjectGraph })),
    preprocessingNotes: PREPROCESSING_NOTES,
  }
  const card = flare21Card(id, source, missing.length > 0)

  // Write into a sibling temp folder, then swap it in: a failed import leaves no half model.
  const tmp = `${outDir}.importing-${process.pid}`
  rmSync(tmp, { recursive: true, force: true })
  await mkdir(tmp, { recursive: true })
  try {
    for (const [name, bytes] of files) await writeFileAtomic(join(tmp, name), bytes)
    await writeFileAtomic(join(tmp, 'model.json'), JSON.stringify(card, null, 2) + '\n')
    await writeFileAtomic(join(tmp, 'LICENSE-WEIGHTS.txt'), `The weights in this folder are converted from the FLARE21 EfficientSCN SavedModels\n(${FLARE21_REPOSITORY}), licensed under the GNU General Public License v3.0.\nThis converted copy is licensed under the GNU GPL v3.0 as well.\n`)
    // keep the old folder until the new one is in place (--overwrite)
    const old = `${outDir}.replaced-${process.pid}`
    if (existsSync(outDir)) renameSync(outDir, old)
    renameSync(tmp, outDir)
    rmSync(old, { recursive: true, force: true })
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true })
    throw e
  }
  log(`wrote ${outDir} (${readdirSync(outDir).join(', ')})`)
  return { dir: outDir, card, networks: reports, missing }
}

/** Add (or replace, by name+dataset) a metric in an imported model's card. */
export async function addCardMetric(dir: string, metric: ModelCard['metrics'][number]): Promise<ModelCard> {
  const file = join(dir, 'model.json')
  const json = JSON.parse(readFileSync(file, 'utf8')) as ModelCard
  const card = parseModelCard(file, json)
  card.metrics = [...card.metrics.filter((m) => !(m.name === metric.name && m.dataset === metric.dataset)), metric]
  parseModelCard(file, card)
  await writeFileAtomic(file, JSON.stringify(card, null, 2) + '\n')
  return card
}
