/**
 * The two-stage SCN pipeline of docs/scn-model.md, from a CT on any grid to a Uint8 labelmap on that same
 * grid. Runs wherever it is called; runScn (index.ts) calls it inside a worker thread so that
 * session.run() never blocks the caller's event loop.
 *
 * Memory plan (512x512x300 int16 CT = 157 MB): the localization input is built straight from the
 * CT (no reoriented or float copy of the whole CT); the segmentation stage copies and smooths only
 * the CT block under the crop; each ONNX session is released before the next stage; the
 * probabilities are resampled back only inside the crop, reading channels only at label borders;
 * a card's border trim keeps one bit per CT voxel (below its HU or not) instead of the CT itself.
 */
import { join } from 'node:path'
import * as ort from 'onnxruntime-node'
import type { CtVolume, Geometry, LabelVolume, Vec3 } from '../../src-shared/volume.js'
import { countLabelValues, createLabelVolume, voxelCount } from '../../src-shared/volume.js'
import type { ModelCard, StageCard } from './model-card.js'
import { openSession, lowMemorySessionOptions, providerOrder, type DeviceChoice, type ProviderName } from './onnx-session.js'
import { collectGarbage } from './gc.js'
import { SegmentCancelledError, STAGES, type SegmentProgress, type SegmentReport, type SessionPreset, type StageName } from './types.js'
// the review hint's margin and threshold, with their calibration
import { REVIEW_UNSURE, UNSURE_MARGIN, needsReview, unsureSentence } from '../../src-shared/review-hint.js'
import {
  belowHuBits,
  mainClusterBox,
  bodyWorldBox,
  croppedLatticeGrid,
  centredGrid,
  clipScale,
  coveringIndexBox,
  sliceAxis,
  cropToFloat32,
  linearSampleNeeds,
  gaussianSmooth,
  localizationSpacing,
  probsToLabels,
  type LabelDoubt,
  resampleToGrid,
  segmentationSpacing,
  validSize,
  worldBoxOfIndexBox,
  worldEdgeBox,
} from './transforms.js'

export interface PipelineModel {
  dir: string
  card: ModelCard
}

export interface PipelineOptions {
  device?: DeviceChoice
  sessionPreset?: SessionPreset
  onProgress?: (p: SegmentProgress) => void
  /**
   * The CT's voxels are the caller's to drop: once the segmentation input exists the pipeline
   * replaces `ct.data` with an empty array and collects garbage, so the voxels are not resident
   * while ONNX Runtime runs (the worker sets this; its CT is a private copy).
   */
  releaseCt?: boolean
  /** polled at every progress step; true stops the run with SegmentCancelledError */
  isCancelled?: () => boolean
}


// Probing absent GPU providers makes ONNX Runtime's default logger print error lines on stderr
// (before our own session options apply); every failure reaches us as an exception and is reported
// in words, so keep the native log to fatal messages in the engine's thread.
ort.env.logLevel = 'fatal'

/** Segmentation spacing tolerance of the original (2 mm grows to max(extent/size) + 0.1 mm). */
const SEG_SPACING_TOLERANCE_MM = 0.1
/** Localization spacing growth when the CT does not fit (original: largest ratio + 2 %). */
const LOC_SPACING_GROWTH = 0.02

class Progress {
  private done = 0
  private last = -1
  readonly seconds: Record<string, number> = {}
  private t0 = 0
  private current: StageName = 'localization-input'
  constructor(
    private readonly cb?: (p: SegmentProgress) => void,
    private readonly isCancelled?: () => boolean,
  ) {}
  start(stage: StageName, message?: string): void {
    this.current = stage
    this.t0 = performance.now()
    this.emit(0, message ?? STAGES.find((s) => s.stage === stage)!.label)
  }
  /** within-stage fraction */
  emit(f: number, message: string): void {
    if (this.isCancelled?.()) throw new SegmentCancelledError()
    const w = STAGES.find((s) => s.stage === this.current)!.weight
    const fraction = Math.min(1, this.done + w * Math.max(0, Math.min(1, f)))
    if (fraction < this.last) return
    this.last = fraction
    this.cb?.({ stage: this.current, fraction, message })
  }
  end(): void {
    this.seconds[this.current] = (performance.now() - this.t0) / 1000
    this.done += STAGES.find((s) => s.stage === this.current)!.weight
  }
  skip(stage: StageName): void {
    this.seconds[stage] = 0
    this.done += STAGES.find((s) => s.stage === stage)!.weight
  }
}

interface StageRun {
  probs: Float32Array
  channels: number
  provider: ProviderName
  skipped: { provider: ProviderName; reason: string }[]
}

/**
 * Opens the stage's session, runs it once, releases it. A GPU provider that opens but then fails
 * to run falls back to the CPU, and the reason is reported.
 */
export function sessionOptionsFor(preset: SessionPreset, kind: 'localization' | 'segmentation'): ort.InferenceSession.SessionOptions {
  if (preset === 'ort-defaults') return {}
  const o = lowMemorySessionOptions()
  if (preset === 'low-memory' && kind === 'segmentation') o.enableCpuMemArena = false
  return o
}

async function runStage(modelDir: string, stage: StageCard, kind: 'localization' | 'segmentation', device: DeviceChoice, preset: SessionPreset, input: Float32Array, dims: Vec3): Promise<StageRun> {
  const file = join(modelDir, stage.file)
  const options = sessionOptionsFor(preset, kind)
  const opened = await openSession(file, device, options)
  const skipped = [...opened.skipped]
  let session = opened.session
  let provider = opened.provider
  const feeds = { [stage.inputName]: new ort.Tensor('float32', input, [1, 1, dims[2], dims[1], dims[0]]) }
  let out: ort.InferenceSession.OnnxValueMapType
  try {
    try {
      out = await session.run(feeds, [stage.outputName])
    } catch (e) {
      if (provider === 'cpu' || !providerOrder(device).includes('cpu')) throw e
      skipped.push({ provider, reason: `it opened the model but failed to run it (${String((e as Error).message).split('\n')[0]})` })
      await session.release()
      const cpu = await openSession(file, 'cpu', options)
      session = cpu.session
      provider = 'cpu'
      out = await session.run(feeds, [stage.outputName])
    }
  } catch (e) {
    await session.release().catch(() => undefined)
    throw new Error(`${file}: the model failed to run on a ${dims.join('x')} input (${String((e as Error).message).split('\n')[0]})`)
  }
  await session.release()
  const t = out[stage.outputName]
  if (!t || t.type !== 'float32') throw new Error(`${file}: the model has no float32 output named "${stage.outputName}"`)
  const d = t.dims
  if (d.length !== 5 || d[0] !== 1 || d[2] !== dims[2] || d[3] !== dims[1] || d[4] !== dims[0]) {
    throw new Error(`${file}: output "${stage.outputName}" has shape [${d.join(', ')}], expected [1, C, ${dims[2]}, ${dims[1]}, ${dims[0]}]`)
  }
  return { probs: t.data as Float32Array, channels: Number(d[1]), provider, skipped }
}

/**
 * The card's segmentation network, and each of its ensembleFiles in turn on the same input (one
 * session open at a time), their probabilities averaged into the first run's array.
 */
async function runSegmentationNetworks(modelDir: string, seg: ModelCard['stages']['segmentation'], device: DeviceChoice, preset: SessionPreset, input: Float32Array, dims: Vec3, progress: StageProgress): Promise<StageRun> {
  const files = [seg.file, ...(seg.ensembleFiles ?? [])]
  const sum = await runStage(modelDir, seg, 'segmentation', device, preset, input, dims)
  for (let k = 1; k < files.length; k++) {
    progress.emit(k / files.length, `segmentation network ${k + 1} of ${files.length}`)
    const run = await runStage(modelDir, { ...seg, file: files[k] }, 'segmentation', sum.provider, preset, input, dims)
    if (run.channels !== sum.channels) throw new Error(`${join(modelDir, files[k])}: the segmentation output has ${run.channels} channels, ${seg.file} has ${sum.channels}; ensemble members must share their labels`)
    const a = sum.probs
    const b = run.probs
    for (let i = 0; i < a.length; i++) a[i] += b[i]
  }
  if (files.length > 1) {
    const a = sum.probs
    const w = 1 / files.length
    for (let i = 0; i < a.length; i++) a[i] *= w
  }
  return sum
}

/** The stage hooks of the pipeline's progress (start/emit/end per stage); optional for other callers. */
export interface StageProgress {
  start(stage: StageName, message?: string): void
  emit(fraction: number, message: string): void
  end(): void
}

export interface Localization {
  /** the 6 mm model grid (identity direction, centred on the CT's world box) */
  grid: Geometry
  /** the network's foreground probability on `grid` (x fastest; a view of its output channel) */
  probability: Float32Array
  /** 1 where `probability` exceeds the card's foregroundThreshold */
  mask: Uint8Array
  /** inclusive index box of `mask` on `grid`; null when there is no foreground */
  box: { min: Vec3; max: Vec3 } | null
  provider: ProviderName
  skipped: { provider: ProviderName; reason: string }[]
  /** seconds the network took (session open, run, release) */
  seconds: number
}

/**
 * Stages 1-2 of docs/scn-model.md: the CT resampled to the card's localization spacing (grown when it does
 * not fit) in a valid-size grid centred on the CT, smoothed and scaled as the card says, through
 * the localization network; the foreground mask and its index box. runPipeline and the importer's
 * localization check (src-main/import/localization-check.ts) both use it, so they see the same
 * grid and the same foreground.
 */
export async function localizeForeground(
  ct: CtVolume,
  modelDir: string,
  loc: ModelCard['stages']['localization'],
  opts: { device?: DeviceChoice; sessionPreset?: SessionPreset; progress?: StageProgress } = {},
): Promise<Localization> {
  const progress = opts.progress
  // 1. Localization input: the CT at 6 mm (grown if it does not fit), centred in a valid-size grid.
  progress?.start('localization-input')
  const ctBox = worldEdgeBox(ct)
  const ctExtent = [0, 1, 2].map((a) => ctBox.max[a] - ctBox.min[a]) as Vec3
  const ctCentre = [0, 1, 2].map((a) => (ctBox.max[a] + ctBox.min[a]) / 2) as Vec3
  const locSpacing = localizationSpacing(ctExtent, loc.spacing, loc.validSizes, LOC_SPACING_GROWTH)
  const locNeed = [0, 1, 2].map((a) => Math.ceil(ctExtent[a] / locSpacing[a] - 1e-9))
  const fullDims: Vec3 = [validSize(locNeed[0], loc.validSizes.x), validSize(locNeed[1], loc.validSizes.y), validSize(locNeed[2], loc.validSizes.z)]
  // Deviation: the original resizes the CT from its corner and then centre-pads to the valid size;
  // we centre the valid-size grid on the CT's world box directly (the same placement up to
  // sub-voxel rounding, and it needs no reoriented intermediate).
  let locGrid = centredGrid(ctCentre, locSpacing, fullDims)
  // Air around the body is work for nothing: where the body (with two voxels of air around it)
  // fits a smaller valid size, the grid shrinks to it on the same lattice (issue 15: 80x80x128 ->
  // 64x64x128 for a 512x512 CT with a 410 mm field of view, ~40 % of the localization's time).
  const body = bodyWorldBox(ct)
  if (body) {
    const sizes = [loc.validSizes.x, loc.validSizes.y, loc.validSizes.z]
    const grown = { min: body.min.map((v, a) => v - 2 * locSpacing[a]) as Vec3, max: body.max.map((v, a) => v + 2 * locSpacing[a]) as Vec3 }
    locGrid = croppedLatticeGrid(locGrid, grown, (a, need) => validSize(need, sizes[a])) ?? locGrid
  }
  const locDims = locGrid.dims
  let locInput: Float32Array | null = resampleToGrid(ct, locGrid, loc.resampling, loc.padValue)
  // Deviation: a card may ask for smoothing before localization (the authors' training used sigma
  // 3 mm; their inference script 0). Smoothing the full-resolution CT would cost a float copy of it
  // and seconds; Gaussian and box filters commute, so we smooth the 6 mm area-averaged grid instead
  // (a discrete sigma of sigma/6 voxels: the same filter up to sampling, and the padding is
  // blended in at the CT's border, where there are no organs).
  if (loc.smoothingSigmaMm > 0) gaussianSmooth(locInput, locDims, locSpacing.map((s) => loc.smoothingSigmaMm / s) as Vec3)
  clipScale(locInput, loc.normalization.scale, loc.normalization.min, loc.normalization.max, loc.normalization.offset)
  progress?.emit(1, `localization input ${locDims.join('x')} at ${locSpacing.map((s) => s.toFixed(2)).join('x')} mm`)
  progress?.end()

  // 2. Localization network -> foreground mask and its index box (the caller adds the margin).
  progress?.start('localization')
  const t0 = performance.now()
  const locRun = await runStage(modelDir, loc, 'localization', opts.device ?? 'auto', opts.sessionPreset ?? 'low-memory', locInput, locDims)
  const seconds = (performance.now() - t0) / 1000
  locInput = null
  if (locRun.channels <= loc.foregroundChannel) throw new Error(`${join(modelDir, loc.file)}: the localization output has ${locRun.channels} channels, the card's foregroundChannel is ${loc.foregroundChannel}`)
  const n = voxelCount(locDims)
  const probability = locRun.probs.subarray(loc.foregroundChannel * n, (loc.foregroundChannel + 1) * n)
  const mask = new Uint8Array(n)
  for (let i = 0; i < n; i++) mask[i] = probability[i] > loc.foregroundThreshold ? 1 : 0
  const box = mainClusterBox(mask, locDims)
  progress?.emit(1, box ? `foreground found (${locRun.provider})` : 'no foreground found: the whole field of view will be segmented')
  progress?.end()
  return { grid: locGrid, probability, mask, box, provider: locRun.provider, skipped: locRun.skipped, seconds }
}

export async function runPipeline(ct: CtVolume, model: PipelineModel, opts: PipelineOptions = {}): Promise<{ labels: LabelVolume; report: SegmentReport }> {
  const { card, dir } = model
  const device = opts.device ?? 'auto'
  const preset = opts.sessionPreset ?? 'low-memory'
  const progress = new Progress(opts.onProgress, opts.isCancelled)
  const loc = card.stages.localization
  const seg = card.stages.segmentation
  const maxLabel = Math.max(...card.labels.map((l) => l.value))
  if (voxelCount(ct.dims) !== ct.data.length) throw new Error(`the CT has ${ct.data.length} voxels, its dimensions say ${voxelCount(ct.dims)}`)

  const warnings: string[] = [...(ct.meta.warnings ?? [])]
  const ctBox = worldEdgeBox(ct)
  // how much of the body the scan covers from foot to head: its own thickness (slices x spacing
  // along the slice axis), not its world box, which a tilted or oblique slab inflates (a 55 mm slab
  // tilted by 20 degrees spans 130 mm of z and was sent to localization as a whole scan)
  const sa = sliceAxis(ct)
  const scanExtentZ = Math.min(ctBox.max[2] - ctBox.min[2], ct.dims[sa] * ct.spacing[sa])
  const isSlab = scanExtentZ < loc.minScanExtentMm

  // 1-2. Localization: the CT at 6 mm, the localization network, the foreground box. Only these
  // fields are kept: the network's output is not held while the segmentation stage runs. A slab
  // skips it; a slab or a scan where it finds nothing is segmented on its whole field of view, so
  // the answer is never silently empty.
  let box: { min: Vec3; max: Vec3 }
  let provider: ProviderName = 'cpu'
  let skippedProviders: { provider: ProviderName; reason: string }[] = []
  let segDevice: DeviceChoice = device
  if (isSlab) {
    progress.skip('localization-input')
    progress.skip('localization')
    box = ctBox
    warnings.push(
      `The scan covers only ${Math.round(scanExtentZ)} mm from foot to head (a slab; the localization stage needs at least ${loc.minScanExtentMm} mm), so the organs were segmented on the whole field of view. Check organs cut by the slab's edges.`,
    )
  } else {
    const found = await localizeForeground(ct, dir, loc, { device, sessionPreset: preset, progress })
    provider = found.provider
    skippedProviders = found.skipped
    segDevice = found.provider
    if (found.box) {
      box = worldBoxOfIndexBox(found.grid, found.box, loc.marginMm)
    } else {
      box = ctBox
      warnings.push('The localization stage found no abdominal organs in this scan, so the whole field of view was segmented instead.')
    }
  }

  const labels = createLabelVolume(ct, { description: `SCN Studio prediction (${card.id} ${card.version})`, modality: 'SEG' })
  // (the labelmap is allocated here but untouched until step 5: its pages become resident only then)
  const extent = [0, 1, 2].map((a) => box.max[a] - box.min[a]) as Vec3
  const centre = [0, 1, 2].map((a) => (box.max[a] + box.min[a]) / 2) as Vec3

  // 3. Segmentation input: the box at 2 mm (coarser if needed), smoothed, area-resampled, clipped.
  progress.start('segmentation-input')
  const segSpacing = segmentationSpacing(extent, seg.spacing, seg.validSizes, SEG_SPACING_TOLERANCE_MM)
  // as the original: int(ceil(extent) / spacing), then the next valid size above it
  const need = [0, 1, 2].map((a) => Math.floor(Math.ceil(extent[a]) / segSpacing[a]))
  const segDims: Vec3 = [validSize(need[0], seg.validSizes.x), validSize(need[1], seg.validSizes.y), validSize(need[2], seg.validSizes.z)]
  const segGrid = centredGrid(centre, segSpacing, segDims)
  const sigmaVox = ct.spacing.map((s) => seg.smoothingSigmaMm / s) as Vec3
  const radius = Math.max(...sigmaVox.map((s) => Math.ceil(s * 4 + 0.5)))
  // 'replicate' padding: the crop reaches beyond the first and last slice (zPadding) or the in-plane
  // field of view (inPlanePadding), repeating the edge voxels, so the network sees anatomy going on
  // instead of air where a slab, or a field of view that cuts the body, ends
  const repeated = ([0, 1, 2] as const).filter((a) => (a === sa ? seg.zPadding : seg.inPlanePadding) === 'replicate')
  const block = coveringIndexBox(ct, segGrid, radius + 1, repeated)
  let segInput: Float32Array | null = new Float32Array(voxelCount(segDims))
  if (!block) {
    segInput.fill(seg.padValue)
  } else {
    const sub = cropToFloat32(ct, block)
    progress.emit(0.3, `smoothing ${sub.dims.join('x')} CT voxels (sigma ${seg.smoothingSigmaMm} mm)`)
    // only the voxels the linear resampling reads (issue 15: exact, ~4x less work on fine CTs)
    if (seg.smoothingSigmaMm > 0) gaussianSmooth(sub.data, sub.dims, sigmaVox, seg.resampling === 'linear' ? linearSampleNeeds(sub, segGrid) : undefined)
    progress.emit(0.8, 'resampling')
    resampleToGrid(sub, segGrid, seg.resampling, seg.padValue, segInput)
  }
  clipScale(segInput, seg.normalization.scale, seg.normalization.min, seg.normalization.max, seg.normalization.offset)
  // what the border trim of step 5 needs of the CT, one bit a voxel, before its voxels may go
  const trimBelow = seg.borderTrimBelowHu === undefined ? undefined : belowHuBits(ct.data, seg.borderTrimBelowHu)
  if (opts.releaseCt) {
    // from here on only the CT's geometry is needed
    ;(ct as { data: CtVolume['data'] }).data = new Int16Array(0)
    collectGarbage()
  }
  progress.emit(1, `segmentation input ${segDims.join('x')} at ${segSpacing.map((s) => s.toFixed(2)).join('x')} mm`)
  progress.end()

  // 4. Segmentation network: merged normalised probabilities, channel c = label value c.
  progress.start('segmentation')
  const segRun = await runSegmentationNetworks(dir, seg, segDevice, preset, segInput, segDims, progress)
  segInput = null
  if (isSlab) {
    provider = segRun.provider
    skippedProviders = segRun.skipped
  }
  if (segRun.channels < maxLabel + 1) throw new Error(`${join(dir, seg.file)}: the segmentation output has ${segRun.channels} channels, the card's labels need ${maxLabel + 1}`)
  progress.end()

  // 5. Probabilities back onto the CT's own grid (linear, inside the crop only), argmax; at label
  // borders, organ voxels below the card's borderTrimBelowHu (fat, air) become background.
  progress.start('labels')
  let lastEmit = 0
  const doubt: LabelDoubt = { margin: UNSURE_MARGIN, won: new Float64Array(segRun.channels), unsure: new Float64Array(segRun.channels) }
  probsToLabels(segRun.probs, segRun.channels, segGrid, ct, labels.data, {
    onRow: (f) => {
      if (f - lastEmit >= 0.05 || f === 1) {
        lastEmit = f
        progress.emit(f, 'resampling labels onto the CT grid')
      }
    },
    trimBelow,
    doubt,
  })
  progress.end()

  const organs = organVolumes(labels, card, doubt)
  const reviewUnsureAbove = seg.reviewUnsureAbove ?? REVIEW_UNSURE
  warnings.push(...plausibilityWarnings(organs, reviewUnsureAbove))
  const report: SegmentReport = {
    modelId: card.id,
    modelVersion: card.version,
    provider,
    skippedProviders,
    stageSeconds: progress.seconds,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    organs,
    reviewUnsureAbove,
    warnings,
  }
  opts.onProgress?.({ stage: 'done', fraction: 1, message: 'done' })
  return { labels, report }
}

/**
 * Organ volumes far outside what an adult abdomen holds (mL; generous: hepatomegaly and
 * splenomegaly exist) mean the network saw something it does not know. Tiny non-zero volumes are
 * fragments, not organs. An all-empty result says so plainly.
 */
const PLAUSIBLE_MAX_ML: Record<string, number> = { liver: 5000, kidney: 1000, spleen: 2000, pancreas: 400 }
const FRAGMENT_ML = 2

/** The warnings above, plus a review request for an organ the network was unsure of (a share above
 *  `reviewAbove`, the card's calibration; src-shared/review-hint.ts). */
export function plausibilityWarnings(organs: SegmentReport['organs'], reviewAbove = REVIEW_UNSURE): string[] {
  const out: string[] = []
  if (organs.every((o) => o.voxels === 0)) {
    out.push('No organs were found: the labels are empty. If this scan shows the abdomen, segment it by hand or check that it is a CT in Hounsfield units.')
    return out
  }
  for (const o of organs) {
    const max = PLAUSIBLE_MAX_ML[o.name]
    if (max !== undefined && o.volumeMl > max) out.push(`The ${o.name} came out at ${Math.round(o.volumeMl)} mL, more than any ${o.name} should be (${max} mL): check it before use.`)
    else if (o.voxels > 0 && o.volumeMl < FRAGMENT_ML) out.push(`Only ${o.volumeMl.toFixed(1)} mL of ${o.name} was found: probably a fragment rather than the organ.`)
    else if (o.voxels > 0 && needsReview(o.unsureFraction, reviewAbove)) out.push(unsureSentence(o.name, o.unsureFraction!))
  }
  return out
}

/** Each card label's voxel count and volume on the labelmap, and with `doubt` the share of its voxels that were unsure. */
export function organVolumes(labels: LabelVolume, card: ModelCard, doubt?: LabelDoubt): SegmentReport['organs'] {
  const counts = countLabelValues(labels.data)
  const voxelMl = (labels.spacing[0] * labels.spacing[1] * labels.spacing[2]) / 1000
  return card.labels.map((l) => {
    const volume = { value: l.value, name: l.name, voxels: counts[l.value], volumeMl: Math.round(counts[l.value] * voxelMl * 100) / 100 }
    if (!doubt) return volume
    const won = doubt.won[l.value] ?? 0
    return { ...volume, unsureFraction: won > 0 ? Math.round(((doubt.unsure[l.value] ?? 0) / won) * 10000) / 10000 : 0 }
  })
}
