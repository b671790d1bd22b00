/**
 * model.json — the card every model folder carries. The schema is the single definition; the
 * engine, `scn-studio models`, the training export (training/) and the FLARE21 importer all use it.
 */
import { readFileSync } from 'node:fs'
import { z } from 'zod'

const Rgb = z.tuple([z.number().int().min(0).max(255), z.number().int().min(0).max(255), z.number().int().min(0).max(255)])

export const LabelClassSchema = z.object({
  value: z.number().int().min(1).max(255),
  name: z.string().min(1),
  color: Rgb,
  snomed: z.object({ code: z.string().regex(/^\d+$/), meaning: z.string().min(1) }),
})

export const NormalizationSchema = z.object({
  /** x' = clip((HU - offset) / scale, min, max); the authors' is offset 0, scale 2048 */
  type: z.literal('clip-scale'),
  scale: z.number().positive(),
  min: z.number(),
  max: z.number(),
  /** HU at the middle of the range (a window's level, e.g. 40 with scale 200 for L40/W400) */
  offset: z.number().finite().default(0),
})

const Sizes = z.array(z.number().int().positive()).min(1)

export const StageSchema = z.object({
  /** ONNX file, relative to the model folder */
  file: z.string().min(1),
  /** input spacing in mm, [x, y, z] */
  spacing: z.tuple([z.number().positive(), z.number().positive(), z.number().positive()]),
  /** allowed input sizes per axis (ascending) */
  validSizes: z.object({ x: Sizes, y: Sizes, z: Sizes }),
  normalization: NormalizationSchema,
  /** HU used to pad outside the CT */
  padValue: z.number(),
  /** Gaussian smoothing before downsampling, in mm (0 = none) */
  smoothingSigmaMm: z.number().min(0).default(0),
  /**
   * How the CT is resampled onto the model grid: 'area' (box mean, as the original's tf area resize)
   * or 'linear' (trilinear). A per-model choice so imported weights can match their preprocessing.
   */
  resampling: z.enum(['area', 'linear']).default('area'),
  inputName: z.string().default('image'),
  outputName: z.string().default('probs'),
})

export const ModelCardSchema = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'lower-case letters, digits, dot, dash, underscore'),
  version: z.string().min(1),
  description: z.string(),
  license: z.string().min(1),
  trainingData: z.string(),
  /** the label table; output channel c of the segmentation stage is label value c (0 = background) */
  labels: z.array(LabelClassSchema).min(1),
  stages: z.object({
    localization: StageSchema.extend({
      /** output channel that holds the foreground probability */
      foregroundChannel: z.number().int().min(0).default(1),
      /** margin around the foreground box, mm */
      marginMm: z.number().min(0).default(10),
      /** foreground probability above which a voxel counts for the box */
      foregroundThreshold: z.number().min(0).max(1).default(0.5),
      /**
       * Scans shorter than this from foot to head (mm) are slabs: the localization network, trained
       * on whole abdomens, is not asked about them; the segmentation stage sees the whole field of
       * view instead (as when localization finds nothing). 0: always localize.
       */
      minScanExtentMm: z.number().min(0).default(0),
    }),
    segmentation: StageSchema.extend({
      /**
       * What the network sees beyond the CT's first and last slice: 'constant' (padValue, air) or
       * 'replicate' (the edge slices repeated). A slab padded with air looks like the end of the body
       * and organs near its edges were under-segmented (docs/scn-model.md); repeated edge slices look
       * like the anatomy going on. A model is trained for one.
       */
      zPadding: z.enum(['constant', 'replicate']).default('constant'),
      /**
       * The same beyond the in-plane field of view: 'constant' (padValue) or 'replicate' (the edge
       * rows and columns repeated). A field of view that cuts the body (a large patient, a small
       * reconstruction) padded with air shows organs ending at air: example_ct cut to 70 % of its
       * width lost spleen Dice 0.95 -> 0.82 with air, 0.95 with the edges repeated (docs/scn-model.md).
       * Where the body lies inside the field of view the edges are air either way.
       */
      inPlanePadding: z.enum(['constant', 'replicate']).default('constant'),
      /**
       * Border trim (CT models): where the label changes on the segmentation grid (within one of its
       * voxels of an organ border), organ voxels whose CT value is below this HU become background.
       * The coarse grid's borders cut through the fat around an organ; the CT's voxels say where it
       * ends (transforms.ts probsToLabels). Absent: the labels are the interpolated argmax alone.
       */
      borderTrimBelowHu: z.number().min(-1024).max(3071).optional(),
      /**
       * The unsure share above which an organ is flagged for review first (src-shared/review-hint.ts):
       * a calibration of this network, measured on held-out CT by whoever trained it. Absent: the
       * threshold calibrated on the SCN Studio networks (REVIEW_UNSURE, 0.3); 1: never flag.
       */
      reviewUnsureAbove: z.number().min(0).max(1).optional(),
      /**
       * Further segmentation networks (ONNX files in the model folder) with the same input and
       * output as `file`: the engine runs each on the same input, one session at a time, and
       * averages their probabilities. Runs trained from different seeds err in different places on
       * scans unlike their training cases; their mean errs less (training/README.md, issue 12).
       */
      ensembleFiles: z.array(z.string().min(1)).max(7).optional(),
    }),
  }),
  metrics: z
    .array(
      z.object({
        name: z.string(),
        organ: z.string().optional(),
        value: z.number(),
        dataset: z.string(),
        method: z.string(),
      }),
    )
    .default([]),
  training: z.record(z.string(), z.unknown()).optional(),
  source: z.record(z.string(), z.unknown()).optional(),
})

export type ModelCard = z.infer<typeof ModelCardSchema>
export type StageCard = z.infer<typeof StageSchema>

export class ModelCardError extends Error {
  constructor(readonly file: string, problem: string) {
    super(`${file}: ${problem}`)
    this.name = 'ModelCardError'
  }
}

/** Every ONNX file a card names, relative to its folder (localization, segmentation, ensemble members). */
export function modelFiles(card: ModelCard): string[] {
  return [card.stages.localization.file, card.stages.segmentation.file, ...(card.stages.segmentation.ensembleFiles ?? [])]
}

export function parseModelCard(file: string, json: unknown): ModelCard {
  const r = ModelCardSchema.safeParse(json)
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')
    throw new ModelCardError(file, `the model card is invalid: ${issues}`)
  }
  const values = r.data.labels.map((l) => l.value)
  if (new Set(values).size !== values.length) throw new ModelCardError(file, 'the model card lists a label value twice')
  return r.data
}

export function readModelCard(file: string): ModelCard {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    throw new ModelCardError(file, 'the model card (model.json) is missing or unreadable')
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    throw new ModelCardError(file, `the model card is not valid JSON (${(e as Error).message})`)
  }
  return parseModelCard(file, json)
}
