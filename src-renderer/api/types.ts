/**
 * What the renderer needs from a host, in the renderer's own terms. The transports in this folder
 * (web, electron, demo) adapt the host's contract to this shape, so the viewer and tools never see
 * HTTP, IPC or JSON. Volumes are bytes plus geometry, never JSON arrays.
 */
import type { LabelClass } from '../../src-shared/labels.js'
import type { LabelPatch } from '../../src-shared/contract/label-patch.js'
import type {
  CaseStatus,
  CaseSummary,
  CodedConcept,
  ExportFormat,
  GeometryDto,
  LabelPreset,
  LabelPresetName,
  LabelTableRow,
  LabelTableView,
  OrganReviewState,
  ReviewAction,
  ReviewState,
  SeriesInfo,
  VolumeFormat,
} from '../../src-shared/contract/schemas.js'
import type { Mat3, Vec3 } from '../../src-shared/volume.js'

// Records and enums the contract defines (z.infer of its schemas), under the names the page uses.
export type { CaseStatus, CaseSummary, CodedConcept, ExportFormat, LabelPreset, LabelPresetName, LabelTableRow, LabelTableView, Mat3, ReviewAction, ReviewState, Vec3 }
/** LPS, row-major direction whose column j is index axis j (src-shared/volume.ts). */
export type GridGeometry = GeometryDto
/** A radiologist's verdict on one organ of a case. */
export type OrganReview = OrganReviewState

export interface LoadedCase {
  /** the host's volume id (labels, segmentation and autosave address it) */
  caseId: string
  /** the workspace case this volume belongs to, when it is one */
  workspaceCaseId?: string
  name: string
  geometry: GridGeometry
  /** HU, x fastest */
  ct: Int16Array | Float32Array
  /** saved labels if the case has any (same grid) */
  labels?: Uint8Array
  /** the model's prediction if one exists (same grid) — the reference for "added/removed/Dice" */
  prediction?: Uint8Array
  /** a case's stored prediction: the model, when, and what the engine said about it (warnings,
   *  each organ's unsure share by label value), shown again when the case reopens */
  predictionInfo?: { model: string; createdAt: string; warnings: string[]; unsure: Record<number, number>; reviewUnsureAbove?: number }
  /** label classes of this workspace: FLARE organs plus any added classes */
  labelClasses: readonly LabelClass[]
  /** how the CT was stored on the host (a DICOM SEG of a non-DICOM CT needs a new study) */
  sourceFormat?: VolumeFormat
}

export interface SegmentProgress {
  /** 0..1 */
  fraction: number
  /** the engine's stage name (src-shared/segment-stages.ts; other engines may name their own) */
  stage: string
  /** the engine's detail line (grid sizes, voxel counts): for a tooltip, not for the status line */
  message?: string
}

export interface SegmentResult {
  labels: Uint8Array
  model: string
  seconds: number
  /** what the engine says the user must know about this result (a slab, no organs found), in sentences */
  warnings: string[]
  /** each organ's unsure share by label value, where the engine measured it (src-shared/review-hint.ts) */
  unsure?: Record<number, number>
  /** the share above which this model flags an organ (its card); absent: REVIEW_UNSURE */
  reviewUnsureAbove?: number
  /** performance.now() when the page heard the engine had finished (result-to-overlay timing) */
  finishedAt?: number
}

export interface ExportOptions {
  /** replace targets that exist: only after the user said so */
  overwrite?: boolean
  /** DICOM SEG: a new study (the CT as a new series + a SEG), for a CT that is not DICOM or lost its UIDs */
  newStudy?: boolean
}

/** sRGB 0-255 */
export type Rgb = [number, number, number]

/** A class to add: a name, one of the presets (its SNOMED codes and colour, and its name unless
 *  `name` is given), or both; `color` overrides the preset's or the default one. */
export interface AddLabelInput {
  name?: string
  color?: Rgb
  preset?: LabelPresetName
}

/** A rename and/or recolour; the value never changes. */
export interface LabelUpdate {
  name?: string
  color?: Rgb
}

/** The label table after an add, with the value the new class got. */
export type LabelTableAdded = LabelTableView & { added: number }

export interface ScnClient {
  readonly kind: 'web' | 'electron' | 'demo'
  /** a short line for the status bar: which host, which model */
  describe(): Promise<string>
  listCases(): Promise<CaseSummary[]>
  openCase(caseId: string): Promise<LoadedCase>
  /** keeps the open volume as a case of the workspace (labels autosave into it) */
  createCase(volumeId: string, name?: string): Promise<CaseSummary>
  setCaseStatus(caseId: string, status: CaseStatus, comment?: string): Promise<CaseSummary>
  /** one workspace case with its per-organ review (the host saves pending edits first) */
  getCase(caseId: string): Promise<CaseSummary>
  /** approve / flag (comment required) / reset one organ of a workspace case */
  reviewOrgan(caseId: string, value: number, action: ReviewAction, reviewer: string, comment?: string): Promise<CaseSummary>
  /**
   * The workspace label table: every row in value order, retired ones too (`retired: true`, out of
   * the palette), lesions marked `isLesion`, and the presets (each says whether its name is taken).
   * Every case and export of the workspace uses it.
   */
  labelTable(): Promise<LabelTableView>
  /** adds a class with the next free value (values are never reused); rejects with a PlainError in
   *  words when the name is taken (case-insensitive, retired labels count) or the table is full */
  addLabel(label: AddLabelInput): Promise<LabelTableAdded>
  /** renames and/or recolours a label, model organs included; same PlainError for a taken name */
  updateLabel(value: number, change: LabelUpdate): Promise<LabelTableView>
  /** "deletes" a label: it leaves the palette, its value stays reserved and painted voxels keep it */
  retireLabel(value: number): Promise<LabelTableView>
  /** the table changed on the host (this page or another one); absent where nothing else changes it */
  onLabelTableChanged?(listener: (table: LabelTableView) => void): () => void
  /** the connection to the host dropped (false) or came back (true); absent where it cannot drop */
  onConnectionChange?(listener: (up: boolean) => void): () => void
  /** the path the host was launched with (`serve <path>`), if any: opened first */
  launchPath(): Promise<string | null>
  /** opens a CT file or DICOM folder on the host's machine; a folder with several series rejects
   *  with NeedsSeries (ask the user, then call again with seriesUid) */
  openPath(path: string, seriesUid?: string): Promise<LoadedCase>
  /** demo transport only: a synthetic phantom generated in the page */
  openPhantom?(opts?: { dims?: Vec3; spacing?: Vec3 }): Promise<LoadedCase>
  /** runs the model (the default one when modelId is absent) on the open case; rejects with a
   *  plain-words Error; abort via signal */
  segment(caseId: string, onProgress: (p: SegmentProgress) => void, signal: AbortSignal, modelId?: string): Promise<SegmentResult>
  /** installed models (id + description) and folders that could not be read, in words */
  listModels(): Promise<{ models: { id: string; description: string }[]; problems: string[] }>
  /** native file/folder dialog (Electron); null where the host has none */
  pickPath?(kind: 'file' | 'folder'): Promise<string | null>
  /** the host-side path of a dropped file (Electron); null where the host cannot know it */
  pathForFile?(file: File): string | null
  /**
   * writes the current labels of an open volume in a training format; returns the files written.
   * An existing target is refused (ExportExists) unless `overwrite` (the user confirmed replacing
   * it); `newStudy` (DICOM SEG) writes the CT as a new DICOM series plus a SEG that references it.
   */
  exportLabels(caseId: string, format: ExportFormat, outPath: string, opts?: ExportOptions): Promise<string[]>
  /** the workspace folder on the host (default place for exports), when there is one */
  workspaceDir(): Promise<string | null>
  /** frees the host's copy of a volume (flushes a case's autosave, drops its lock) */
  close(caseId: string): Promise<void>
  /** the host asks to open a path (Electron: second launch, "open with") */
  onOpenRequest?(listener: (path: string) => void): () => void
  /** the host's background write of a case's labels failed (saved: false) or works again (saved: true) */
  onSaveStatus?(listener: (e: { volumeId: string; caseId: string; saved: boolean; error?: string }) => void): () => void
  /** stores the current labelmap (autosave); the demo keeps nothing */
  saveLabels(caseId: string, labels: Uint8Array): Promise<void>
  /**
   * stores only the voxels changed since the last save the host acknowledged (labels.patch: same
   * version check as saveLabels, applied all or nothing); absent where the host keeps nothing
   */
  saveLabelsPatch?(caseId: string, patch: LabelPatch): Promise<void>
  /**
   * the host's current labelmap of an open case; adopt() makes later saves name its version (once
   * the page holds what the host has). After a LabelsConflict the page merges it with its own
   * edits, adopts, and saves again.
   */
  fetchLabels?(caseId: string): Promise<{ labels: Uint8Array; adopt(): void }>
}

/** One series of a DICOM folder, as the contract describes it. */
export type SeriesChoice = SeriesInfo

/** A DICOM folder holds several series: the user chooses one. */
export class NeedsSeries extends Error {
  override name = 'NeedsSeries'
  constructor(readonly path: string, readonly series: SeriesChoice[]) {
    super(`${path} holds ${series.length} series: choose one`)
  }
}

/** An error whose message is safe to show to the user as-is. */
export class PlainError extends Error {
  override name = 'PlainError'
}

/**
 * A save named a labelmap version the host has moved past: another page saved this case, or an
 * earlier save landed but its answer was lost. Resending cannot succeed; the page fetches the
 * host's labels (fetchLabels), merges, and saves again.
 */
export class LabelsConflict extends PlainError {
  override name = 'LabelsConflict'
}

/** The export target exists and replacing it was not asked for: the page asks the user. */
export class ExportExists extends PlainError {
  override name = 'ExportExists'
}
