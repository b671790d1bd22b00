/**
 * Data shapes that cross the renderer <-> main boundary. Pure zod, no Node or DOM APIs: the renderer
 * bundles this file too. Every type here is inferred from its schema, so the two cannot drift.
 */
import { z } from 'zod'
import { VOLUME_FORMATS } from '../volume.js'

export type { VolumeFormat } from '../volume.js'

// ---------------------------------------------------------------------------------------------
// Primitives

const finite = z.number().finite()
export const Vec3Schema = z.tuple([finite, finite, finite])
export const Mat3Schema = z.tuple([finite, finite, finite, finite, finite, finite, finite, finite, finite])
const positiveInt = z.number().int().positive()
/** Opaque handle the main process hands out (volume, run). Safe in URLs and file names. */
export const IdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'an id is 1-64 letters, digits, dash or underscore')
/** An absolute path on the machine that runs the main process (not the browser's machine). */
export const PathSchema = z.string().min(1, 'a path must not be empty').max(4096)
const Rgb = z.tuple([z.number().int().min(0).max(255), z.number().int().min(0).max(255), z.number().int().min(0).max(255)])
export const Empty = z.object({}).strict()

/** Same geometry convention as src-shared/volume.ts: LPS, direction column j = index axis j. */
export const GeometrySchema = z
  .object({
    dims: z.tuple([positiveInt, positiveInt, positiveInt]),
    spacing: z.tuple([z.number().positive(), z.number().positive(), z.number().positive()]),
    origin: Vec3Schema,
    direction: Mat3Schema,
  })
  .strict()
export type GeometryDto = z.infer<typeof GeometrySchema>

export const LabelClassSchema = z.object({
  value: z.number().int().min(1).max(255),
  name: z.string().min(1),
  color: Rgb,
  snomed: z.object({ code: z.string(), meaning: z.string() }).optional(),
})
export type LabelClassDto = z.infer<typeof LabelClassSchema>

// ---------------------------------------------------------------------------------------------
// app

export const HostKindSchema = z.enum(['electron', 'web'])
export const AppInfoSchema = z.object({
  name: z.string(),
  version: z.string(),
  host: HostKindSchema,
  platform: z.string(),
  versions: z.record(z.string(), z.string()),
  workspaceDir: PathSchema,
  /** the file or DICOM folder given at launch (`npm start -- <path>`), to open first */
  launchPath: PathSchema.optional(),
  /** what this host can do: the web host has no native file dialog */
  capabilities: z.object({ nativeDialogs: z.boolean(), dragAndDropPaths: z.boolean() }),
  labels: z.array(LabelClassSchema),
})
export type AppInfo = z.infer<typeof AppInfoSchema>

// ---------------------------------------------------------------------------------------------
// files (dialogs)

export const OpenDialogRequestSchema = z.object({ kind: z.enum(['file', 'folder']) }).strict()
export const OpenDialogResultSchema = z.object({ path: PathSchema.nullable() })
/** Native save dialog (Electron): the chosen path becomes an export target (a file itself, a folder its subtree). */
export const SaveDialogRequestSchema = z.object({ kind: z.enum(['file', 'folder']), defaultPath: PathSchema.optional() }).strict()
export const SaveDialogResultSchema = OpenDialogResultSchema

// ---------------------------------------------------------------------------------------------
// volumes

export const SeriesInfoSchema = z.object({
  seriesUid: z.string(),
  description: z.string(),
  modality: z.string(),
  sliceCount: z.number().int().nonnegative(),
  rows: z.number().int().nonnegative(),
  columns: z.number().int().nonnegative(),
})
export type SeriesInfo = z.infer<typeof SeriesInfoSchema>

/** How a CT was stored where it was read from. */
export const VolumeFormatSchema = z.enum(VOLUME_FORMATS)

export const OpenVolumeRequestSchema = z
  .object({
    path: PathSchema,
    /** DICOM folders holding several series: the one to open (from a `needs-series` answer) */
    seriesUid: z.string().min(1).optional(),
  })
  .strict()
export type OpenVolumeRequest = z.infer<typeof OpenVolumeRequestSchema>

export const VolumeSummarySchema = z.object({
  volumeId: IdSchema,
  /** display name (file or series description) */
  name: z.string(),
  path: PathSchema,
  format: VolumeFormatSchema,
  geometry: GeometrySchema,
  /** CT voxels always travel as int16 HU */
  dataType: z.literal('int16'),
  /** [min, max] HU */
  range: z.tuple([finite, finite]),
  orientation: z.string(),
  modality: z.string().optional(),
  seriesUid: z.string().optional(),
  /** the voxels were stored as floats and rounded to int16 HU */
  rounded: z.boolean(),
})
export type VolumeSummary = z.infer<typeof VolumeSummarySchema>

/** A folder with several series asks the user to choose; a single series (or file) opens directly. */
export const OpenVolumeResultSchema = z.discriminatedUnion('status', [
  z.object({ status: z.literal('needs-series'), path: PathSchema, series: z.array(SeriesInfoSchema).min(2) }),
  z.object({ status: z.literal('opened'), volume: VolumeSummarySchema }),
])
export type OpenVolumeResult = z.infer<typeof OpenVolumeResultSchema>

export const VolumeRefSchema = z.object({ volumeId: IdSchema }).strict()
export type VolumeRef = z.infer<typeof VolumeRefSchema>
export const ListVolumesResultSchema = z.object({ volumes: z.array(VolumeSummarySchema) })

/** Header of the binary frame carrying CT voxels (x fastest, then y, then z). */
export const VoxelsHeaderSchema = z.object({
  volumeId: IdSchema,
  dataType: z.literal('int16'),
  geometry: GeometrySchema,
})
export type VoxelsHeader = z.infer<typeof VoxelsHeaderSchema>

// ---------------------------------------------------------------------------------------------
// labels

/** `current` is what the user edits; `prediction` is the model output it started from (read-only). */
export const LabelmapKindSchema = z.enum(['current', 'prediction'])
export type LabelmapKind = z.infer<typeof LabelmapKindSchema>
export const GetLabelmapRequestSchema = z.object({ volumeId: IdSchema, kind: LabelmapKindSchema.default('current') }).strict()
export type GetLabelmapRequest = z.input<typeof GetLabelmapRequestSchema>

/** Header of a labelmap frame (Uint8, same voxel order and grid as the CT). Used both ways. */
export const LabelmapHeaderSchema = z
  .object({
    volumeId: IdSchema,
    kind: LabelmapKindSchema,
    dataType: z.literal('uint8'),
    geometry: GeometrySchema,
    /** increments on every put; a put must name the version it edited (optimistic concurrency) */
    version: z.number().int().nonnegative(),
  })
  .strict()
export type LabelmapHeader = z.infer<typeof LabelmapHeaderSchema>

/**
 * Header of a labels.patch frame: the voxels an edit changed since `version`, instead of the whole
 * labelmap (autosave of a brush dab sends bytes, not the volume). The payload is `count`
 * little-endian u32 voxel indices (x fastest, as the labelmap) followed by `count` u8 label values;
 * label-patch.ts encodes and decodes it.
 */
export const LabelPatchHeaderSchema = z
  .object({
    volumeId: IdSchema,
    kind: z.literal('current'),
    dataType: z.literal('uint8'),
    /** the version the changes were made on; as for labels.put, anything else is 'stale' */
    version: z.number().int().nonnegative(),
    /** voxels changed */
    count: z.number().int().nonnegative(),
  })
  .strict()
export type LabelPatchHeader = z.infer<typeof LabelPatchHeaderSchema>

export const PutLabelmapResultSchema = z.object({ volumeId: IdSchema, version: z.number().int().nonnegative() })
export type PutLabelmapResult = z.infer<typeof PutLabelmapResultSchema>

// ---------------------------------------------------------------------------------------------
// segmentation

export const DeviceSchema = z.enum(['auto', 'cpu', 'gpu', 'cuda', 'webgpu'])
export const RunSegmentationRequestSchema = z
  .object({ volumeId: IdSchema, modelId: z.string().min(1).optional(), device: DeviceSchema.default('auto') })
  .strict()
export type RunSegmentationRequest = z.input<typeof RunSegmentationRequestSchema>
export const RunRefSchema = z.object({ runId: IdSchema }).strict()
export type RunRef = z.infer<typeof RunRefSchema>
export const CancelResultSchema = z.object({ runId: IdSchema, cancelled: z.boolean() })

export const ProgressEventSchema = z.object({
  runId: IdSchema,
  volumeId: IdSchema,
  /** e.g. 'load', 'localization', 'segmentation', 'resample' */
  stage: z.string(),
  /** 0..1 over the whole run */
  fraction: z.number().min(0).max(1),
  message: z.string(),
})
export type ProgressEvent = z.infer<typeof ProgressEventSchema>

export const OrganVolumeSchema = z.object({
  value: z.number().int().min(1).max(255),
  name: z.string(),
  voxels: z.number().int().nonnegative(),
  volumeMl: finite,
  /** the share of the organ's voxels the model chose by < 0.5 probability (src-shared/review-hint.ts); absent: not measured */
  unsureFraction: finite.min(0).max(1).optional(),
})

/** What the engine said about a prediction: kept with a case (case.json) and given back when the case
 *  opens, so the warnings and the organs to review first are still shown on the next day. */
export const PredictionNotesSchema = z.object({
  /** the engine's warnings in plain sentences (SegmentReport.warnings) */
  warnings: z.array(z.string()).default([]),
  /** each organ's unsure share, keyed by label value (src-shared/review-hint.ts); absent: not measured */
  unsure: z.record(z.string().regex(/^\d+$/), finite.min(0).max(1)).default({}),
  /** the share above which the model flags an organ for review (its card's calibration) */
  reviewUnsureAbove: finite.min(0).max(1).optional(),
})
export type PredictionNotes = z.infer<typeof PredictionNotesSchema>

export const RunFinishedEventSchema = z.discriminatedUnion('outcome', [
  z.object({
    runId: IdSchema,
    volumeId: IdSchema,
    outcome: z.literal('done'),
    modelId: z.string(),
    provider: z.string(),
    seconds: finite,
    /** version of the new `prediction` labelmap (fetch it with labels.get) */
    predictionVersion: z.number().int().nonnegative(),
    organs: z.array(OrganVolumeSchema),
    /** the engine's warnings about this result in plain sentences (SegmentReport.warnings) */
    warnings: z.array(z.string()).default([]),
    /** the unsure share above which this model flags an organ for review (its card; absent: REVIEW_UNSURE) */
    reviewUnsureAbove: finite.min(0).max(1).optional(),
  }),
  z.object({ runId: IdSchema, volumeId: IdSchema, outcome: z.literal('cancelled') }),
  z.object({ runId: IdSchema, volumeId: IdSchema, outcome: z.literal('failed'), error: z.string() }),
])
export type RunFinishedEvent = z.infer<typeof RunFinishedEventSchema>

// ---------------------------------------------------------------------------------------------
// statistics

export const StatisticsRequestSchema = z.object({ volumeId: IdSchema, kind: LabelmapKindSchema.default('current') }).strict()
export type StatisticsRequest = z.input<typeof StatisticsRequestSchema>
export const OrganStatisticsSchema = z.object({
  value: z.number().int().min(1).max(255),
  name: z.string(),
  voxels: z.number().int().nonnegative(),
  volumeMl: finite,
  meanHu: finite.nullable(),
  stdHu: finite.nullable(),
  /** against the prediction, when there is one */
  vsPrediction: z.object({ added: z.number().int().nonnegative(), removed: z.number().int().nonnegative(), dice: finite.nullable() }).optional(),
})
export type OrganStatistics = z.infer<typeof OrganStatisticsSchema>
export const StatisticsResultSchema = z.object({
  volumeId: IdSchema,
  kind: LabelmapKindSchema,
  version: z.number().int().nonnegative(),
  voxelMl: finite,
  /** voxel count of every value 0..255 present (keys are label values as strings) */
  counts: z.record(z.string().regex(/^\d+$/), z.number().int().nonnegative()),
  organs: z.array(OrganStatisticsSchema),
})
export type StatisticsResult = z.infer<typeof StatisticsResultSchema>

// ---------------------------------------------------------------------------------------------
// models

export const ModelSummarySchema = z.object({
  id: z.string(),
  version: z.string(),
  description: z.string(),
  license: z.string(),
  source: z.enum(['app', 'user']),
  labels: z.array(LabelClassSchema),
})
export type ModelSummary = z.infer<typeof ModelSummarySchema>
export const ListModelsResultSchema = z.object({
  models: z.array(ModelSummarySchema),
  /** model folders that could not be read, with the reason (shown, not fatal) */
  problems: z.array(z.object({ path: z.string(), error: z.string() })),
})

// ---------------------------------------------------------------------------------------------
// cases (workspace) — delegates to src-main/cases

export const CaseStatusSchema = z.enum(['todo', 'in-progress', 'reviewed', 'flagged'])
export type CaseStatus = z.infer<typeof CaseStatusSchema>
/** One organ's review state; 'approved' and 'flagged' name who and when. */
export const ReviewStateSchema = z.enum(['pending', 'approved', 'flagged'])
export type ReviewState = z.infer<typeof ReviewStateSchema>
/** What a reviewer does to one organ (flag needs a comment; reset returns it to pending). */
export const ReviewActionSchema = z.enum(['approve', 'flag', 'reset'])
export type ReviewAction = z.infer<typeof ReviewActionSchema>
/** Review of one organ of a case: who approved or flagged it, when, and why. case.json keeps these
 *  keyed by label value (src-main/cases/schemas.ts), the wire adds the value (OrganReviewState). */
export const OrganReviewSchema = z.object({
  state: ReviewStateSchema,
  reviewer: z.string().optional(),
  comment: z.string().max(2000).optional(),
  at: z.string().min(1).optional(),
  /** why a former approval was withdrawn (the organ was edited after it) */
  note: z.string().optional(),
})
export type OrganReview = z.infer<typeof OrganReviewSchema>
export const OrganReviewStateSchema = OrganReviewSchema.extend({ value: z.number().int().min(1).max(255) })
export type OrganReviewState = z.infer<typeof OrganReviewStateSchema>
export const CaseSummarySchema = z.object({
  caseId: IdSchema,
  name: z.string(),
  ctPath: PathSchema,
  status: CaseStatusSchema,
  updatedAt: z.string(),
  hasPrediction: z.boolean(),
  /** organs approved / organs to review */
  approved: z.number().int().nonnegative(),
  toReview: z.number().int().nonnegative(),
  reviewers: z.array(z.string()),
  /** set while another process has the case open */
  lockedBy: z.string().optional(),
  /** set while this host cannot save the case's edits (full disk, read-only folder, case replaced):
   *  what went wrong, in words; the edits are kept in memory and retried */
  saveError: z.string().optional(),
  /** every organ to review, in value order; on answers about one case (get, open, create,
   *  setStatus, review), not in the list */
  organs: z.array(OrganReviewStateSchema).optional(),
})
export type CaseSummary = z.infer<typeof CaseSummarySchema>
export const ListCasesResultSchema = z.object({
  workspaceDir: PathSchema,
  cases: z.array(CaseSummarySchema),
  /** case folders that could not be read, in words */
  problems: z.array(z.string()),
})
export const CreateCaseRequestSchema = z.object({ volumeId: IdSchema, name: z.string().min(1).optional() }).strict()
export const CaseRefSchema = z.object({ caseId: IdSchema }).strict()
export const OpenCaseResultSchema = z.object({
  case: CaseSummarySchema,
  volume: VolumeSummarySchema,
  /** the case's prediction: which model made it, when, and what the engine said about it */
  prediction: z.object({ model: z.string(), createdAt: z.string(), notes: PredictionNotesSchema.optional() }).optional(),
})
/** 'reviewed' is refused until every organ is approved (cases.review); 'flagged' needs a comment. */
export const SetCaseStatusRequestSchema = z.object({ caseId: IdSchema, status: CaseStatusSchema, comment: z.string().max(2000).optional() }).strict()
/** Radiologist review of one organ (label value) of a case. */
export const ReviewRequestSchema = z
  .object({
    caseId: IdSchema,
    value: z.number().int().min(1).max(255),
    action: ReviewActionSchema,
    reviewer: z.string().min(1).max(200),
    comment: z.string().max(2000).optional(),
  })
  .strict()

// ---------------------------------------------------------------------------------------------
// export — delegates to src-main/export

export const ExportFormatSchema = z.enum(['nifti', 'nnunet', 'dicom-seg', 'seg-nrrd'])
export type ExportFormat = z.infer<typeof ExportFormatSchema>
export const ExportRequestSchema = z
  .object({
    volumeId: IdSchema,
    format: ExportFormatSchema,
    /**
     * output file or folder: inside the workspace, the user models folder, an `--allow-dir` folder
     * (web host) or a path chosen in a save dialog; never an opened source or inside one ('forbidden')
     */
    outPath: PathSchema,
    /** nnunet: label organs not yet approved as 'ignore' */
    ignoreUnapproved: z.boolean().default(false),
    /** replace outputs that exist; set only after the user confirmed (without it: error code 'exists') */
    overwrite: z.boolean().default(false),
    /** dicom-seg: write the CT as a new DICOM series (fresh UIDs) plus a SEG referencing it; for non-DICOM CTs and DICOM without UIDs */
    newStudy: z.boolean().default(false),
  })
  .strict()
export type ExportRequest = z.input<typeof ExportRequestSchema>
export const ExportResultSchema = z.object({ files: z.array(PathSchema) })
/** The whole workspace as one nnU-Net dataset (cases in progress and reviewed by default). */
export const ExportWorkspaceRequestSchema = z
  .object({ outPath: PathSchema, ignoreUnapproved: z.boolean().default(false), statuses: z.array(CaseStatusSchema).min(1).optional(), overwrite: z.boolean().default(false) })
  .strict()
export const ExportWorkspaceResultSchema = z.object({ files: z.array(PathSchema), cases: z.array(IdSchema) })

// ---------------------------------------------------------------------------------------------
// pacs: DICOMweb servers configured on the host (src-main/pacs), named by their configured name.
// Answers carry names and URLs, never credentials.

/** A configured server's name (pacs-servers.json); the page never gives a URL */
export const PacsServerNameSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'a PACS server is named by its configured name (letters, digits, "_", "." or "-")')
/** A DICOM UID: digits and dots, at most 64 characters */
export const DicomUidSchema = z.string().max(64).regex(/^[0-9]+(\.[0-9]+)*$/, 'a DICOM UID is digits and dots')
/** QIDO-RS text: no control characters, short */
const QidoText = z.string().min(1).max(64).regex(/^[^\u0000-\u001f\\]*$/, 'no control characters or backslashes')
export const PacsServerInfoSchema = z.object({ name: PacsServerNameSchema, baseUrl: z.string(), auth: z.enum(['none', 'basic', 'bearer']) }).strict()
export const PacsServersResultSchema = z.object({ servers: z.array(PacsServerInfoSchema) })
export const PacsSearchRequestSchema = z
  .object({
    server: PacsServerNameSchema,
    /** DICOM wildcards * and ? allowed */
    patientName: QidoText.optional(),
    patientId: QidoText.optional(),
    /** YYYYMMDD or a range YYYYMMDD-YYYYMMDD (either side may be empty) */
    studyDate: z.string().regex(/^(\d{8})?(-(\d{8})?)?$/, 'a study date is YYYYMMDD or a range YYYYMMDD-YYYYMMDD').min(1).optional(),
    modality: z.string().regex(/^[A-Z]{2,4}$/, 'a modality is 2-4 capital letters, e.g. CT').optional(),
    accessionNumber: QidoText.optional(),
    limit: z.number().int().positive().max(1000).optional(),
  })
  .strict()
export const PacsStudySchema = z.object({
  studyUid: z.string(),
  patientName: z.string(),
  patientId: z.string(),
  studyDate: z.string(),
  studyTime: z.string(),
  accessionNumber: z.string(),
  description: z.string(),
  modalities: z.array(z.string()),
  seriesCount: z.number().int().nonnegative().optional(),
  instanceCount: z.number().int().nonnegative().optional(),
})
export const PacsSearchResultSchema = z.object({ studies: z.array(PacsStudySchema) })
export const PacsSeriesRequestSchema = z.object({ server: PacsServerNameSchema, studyUid: DicomUidSchema }).strict()
export const PacsSeriesSchema = z.object({
  studyUid: z.string(),
  seriesUid: z.string(),
  modality: z.string(),
  description: z.string(),
  seriesNumber: z.number().int().optional(),
  /** instances in the series: the slice count of a CT */
  instanceCount: z.number().int().nonnegative().optional(),
})
export const PacsSeriesResultSchema = z.object({ series: z.array(PacsSeriesSchema) })
/** Retrieve a CT series into the host's cache; `retrieveId` (the caller's) names its progress events and cancel. */
export const PacsRetrieveRequestSchema = z.object({ server: PacsServerNameSchema, studyUid: DicomUidSchema, seriesUid: DicomUidSchema, retrieveId: IdSchema }).strict()
/** `path`: the cached series folder, now readable: open it with volumes.open */
export const PacsRetrieveResultSchema = z.object({ path: PathSchema, instances: z.number().int().positive(), modality: z.string(), description: z.string(), fromCache: z.boolean() })
export const PacsCancelRequestSchema = z.object({ retrieveId: IdSchema }).strict()
export const PacsCancelResultSchema = z.object({ retrieveId: IdSchema, cancelled: z.boolean() })
export const PacsRetrieveProgressEventSchema = z.object({ retrieveId: IdSchema, received: z.number().int().nonnegative(), total: z.number().int().nonnegative(), bytes: z.number().nonnegative() })
/** The cache's folder name for a server (<host_port>-<hash>); with the two UIDs it names a cached series */
export const PacsCacheKeySchema = z.string().max(320).regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, 'a cache key is letters, digits, "_", "." or "-"')
/** A series kept in the host's cache: listed and opened without the server (offline) */
export const PacsCachedSeriesSchema = z
  .object({
    serverKey: PacsCacheKeySchema,
    /** the configured server it came from; null when no configured server has that URL any more */
    server: PacsServerNameSchema.nullable(),
    /** the server's DICOMweb root (never credentials) */
    baseUrl: z.string(),
    studyUid: z.string(),
    seriesUid: z.string(),
    modality: z.string(),
    description: z.string(),
    seriesNumber: z.number().int().optional(),
    /** instances retrieved, and the DICOM files present now (fewer: files were removed by hand) */
    instances: z.number().int().nonnegative(),
    filesPresent: z.number().int().nonnegative(),
    /** ISO time of the retrieval */
    retrievedAt: z.string(),
    patientName: z.string(),
    patientId: z.string(),
    studyDate: z.string(),
    studyDescription: z.string(),
  })
  .strict() // a host folder added to a row by mistake is refused, never passed to the page
export const PacsCachedResultSchema = z.object({ series: z.array(PacsCachedSeriesSchema) })
export const PacsOpenCachedRequestSchema = z.object({ serverKey: PacsCacheKeySchema, studyUid: DicomUidSchema, seriesUid: DicomUidSchema }).strict()
/** A DICOM SEG of the volume's current labels, stored (STOW-RS) on the server its series was retrieved from */
export const PacsSendSegResultSchema = z.object({
  /** the server, as named in messages (name and URL) */
  server: z.string(),
  stored: z.array(z.object({ studyUid: z.string(), seriesUid: z.string(), sopInstanceUid: z.string() })).min(1),
})

// ---------------------------------------------------------------------------------------------
// labelTable: the workspace's label table (model organs + the classes a team adds). Its rules live
// in src-main/cases/label-table.ts: a value never changes and is never reused, names are unique
// (case-insensitive, retired labels included), every change bumps `version`.

/** A coded concept (DICOM code sequence item). SNOMED CT unless `scheme` says otherwise. */
export const CodedConceptSchema = z.object({
  code: z.string().min(1).max(16),
  meaning: z.string().min(1).max(64),
  /** DICOM CodingSchemeDesignator; SCT = SNOMED CT */
  scheme: z.string().min(1).max(16).default('SCT'),
})
export type CodedConcept = z.infer<typeof CodedConceptSchema>
/** Where a label comes from: the model's organs, or a class the team added. */
export const LabelSourceSchema = z.enum(['model', 'team'])
export type LabelSource = z.infer<typeof LabelSourceSchema>
/** A workspace label's voxel value: 255 stays free (nnU-Net's "ignore" goes above every value). */
export const LabelValueSchema = z.number().int().min(1).max(254)
/** A label's name: shown in the palette and written into exports (DICOM SEG SegmentLabel, nnU-Net dataset.json). */
export const LabelNameSchema = z
  .string()
  .trim()
  .min(1, 'a label needs a name')
  .max(64, 'a label name is at most 64 characters')
  .regex(/^[^\u0000-\u001f\u007f\\]*$/, 'a label name has no control characters or backslashes')
/** The team classes offered with one click (src-main/cases/label-table.ts TEAM_PRESETS gives each its codes and colour). */
export const LABEL_PRESET_NAMES = ['liver lesion', 'kidney lesion', 'pancreatic lesion', 'splenic lesion', 'other lesion'] as const
export const LabelPresetNameSchema = z.enum(LABEL_PRESET_NAMES)
export type LabelPresetName = z.infer<typeof LabelPresetNameSchema>

/** One row of the table as the page sees it. */
export const LabelTableRowSchema = z.object({
  value: LabelValueSchema,
  name: z.string().min(1).max(64),
  color: Rgb,
  /** SNOMED CT concept of the structure (DICOM SEG SegmentedPropertyType) */
  snomed: CodedConceptSchema,
  /** DICOM SEG SegmentedPropertyCategory: Anatomical Structure, Morphologically Altered Structure (lesions), Tissue */
  category: CodedConceptSchema,
  /** for lesions: the organ they lie in (DICOM SEG AnatomicRegionSequence) */
  anatomicRegion: CodedConceptSchema.optional(),
  source: LabelSourceSchema,
  /** retired labels keep their value (never reused) and their voxels' meaning, but leave the palette */
  retired: z.boolean(),
  /** derived, not stored: category is Morphologically Altered Structure (SNOMED 49755003) */
  isLesion: z.boolean(),
})
export type LabelTableRow = z.infer<typeof LabelTableRowSchema>
/** A class the team can add with one click (labelTable.add { preset }). */
export const LabelPresetSchema = z.object({
  name: LabelPresetNameSchema,
  color: Rgb,
  snomed: CodedConceptSchema,
  category: CodedConceptSchema,
  anatomicRegion: CodedConceptSchema.optional(),
  isLesion: z.boolean(),
  /** a label of this name is in the table already (retired ones count): adding the preset needs another name */
  inTable: z.boolean(),
})
export type LabelPreset = z.infer<typeof LabelPresetSchema>
/** The whole table (retired rows included, in value order) and the presets. */
export const LabelTableViewSchema = z.object({
  /** increases by one on every change */
  version: z.number().int().min(1),
  labels: z.array(LabelTableRowSchema),
  presets: z.array(LabelPresetSchema),
})
export type LabelTableView = z.infer<typeof LabelTableViewSchema>
/** A new team class: a name, a preset (its codes and colour; its name unless `name` is given), or both. */
export const AddLabelRequestSchema = z
  .object({ name: LabelNameSchema.optional(), color: Rgb.optional(), preset: LabelPresetNameSchema.optional() })
  .strict()
  .refine((r) => r.name !== undefined || r.preset !== undefined, { path: ['name'], message: 'a new label needs a name or a preset' })
export type AddLabelRequest = z.input<typeof AddLabelRequestSchema>
/** The table after the add, and the value the new label got. */
export const AddLabelResultSchema = LabelTableViewSchema.extend({ added: LabelValueSchema })
/** Rename and/or recolour a label; its value never changes. */
export const UpdateLabelRequestSchema = z
  .object({ value: LabelValueSchema, name: LabelNameSchema.optional(), color: Rgb.optional() })
  .strict()
  .refine((r) => r.name !== undefined || r.color !== undefined, { path: ['name'], message: 'nothing to change: give a name or a color' })
export type UpdateLabelRequest = z.input<typeof UpdateLabelRequestSchema>
/** Retire (delete from the palette) a label; its value stays reserved. */
export const RetireLabelRequestSchema = z.object({ value: LabelValueSchema }).strict()

// ---------------------------------------------------------------------------------------------
// host events

/** The host asks the renderer to open a path (second launch with a path, OS "open with", drop on dock). */
export const OpenRequestEventSchema = z.object({ path: PathSchema })
/**
 * A case's autosave failed in the background (saved: false, error in words; the host keeps the
 * edits and retries), or worked again after failing (saved: true). labels.put answers the same
 * error while it lasts; cases.list shows it as saveError.
 */
export const SaveStatusEventSchema = z.object({ caseId: IdSchema, volumeId: IdSchema, saved: z.boolean(), error: z.string().optional() })
export type SaveStatusEvent = z.infer<typeof SaveStatusEventSchema>

// ---------------------------------------------------------------------------------------------
// errors

export const ErrorCodeSchema = z.enum([
  'bad-request', // the message did not match the contract
  'unauthorized', // web host: missing or wrong token
  'forbidden', // path outside what the user opened / the workspace, or a refused origin
  'not-found', // unknown volume, run, case, model or file
  'conflict', // case locked or replaced, a run already going
  'stale', // labels.put/patch named a labelmap version the host has moved past: fetch, merge, save again
  'exists', // an export target exists and overwrite was not set: ask the user, then retry with overwrite
  'bad-input', // a file the user gave cannot be read (VolumeError)
  'unsupported', // not available on this host (e.g. native dialogs on the web host)
  'cancelled',
  'failed', // anything else; the message says what
])
export type ErrorCode = z.infer<typeof ErrorCodeSchema>
export const ErrorPayloadSchema = z.object({ code: ErrorCodeSchema, message: z.string() })
export type ErrorPayload = z.infer<typeof ErrorPayloadSchema>
