/**
 * The on-disk JSON of a workspace: workspace.json (with the versioned label table) and each
 * case's case.json. One zod schema per file is the single definition; readers reject files that do
 * not match with a message naming the file and the field, and never "repair" them silently.
 */
import { z } from 'zod'
import { CaseStatusSchema, CodedConceptSchema, GeometrySchema, LabelSourceSchema, OrganReviewSchema, PredictionNotesSchema } from '../../src-shared/contract/schemas.js'

// The case status and organ review are the contract's: the files keep what the wire shows.
export { CaseStatusSchema, OrganReviewSchema, type CaseStatus, type OrganReview } from '../../src-shared/contract/schemas.js'

/** Versions this code writes. Older files are brought forward on read (migrations.ts); each bump
 *  needs a step there and a fixture of the old version under test/fixtures/cases/. */
export const CASE_SCHEMA_VERSION = 2
export const WORKSPACE_SCHEMA_VERSION = 1

const Rgb = z.tuple([z.number().int().min(0).max(255), z.number().int().min(0).max(255), z.number().int().min(0).max(255)])
const Iso = z.string().min(1)

/** A coded concept (DICOM code sequence item): the contract's, so the label table's files and the
 *  wire (labelTable.get) keep the same record. SNOMED CT unless `scheme` says otherwise. */
export const CodeSchema = CodedConceptSchema
export type Code = z.infer<typeof CodeSchema>

export const CaseIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'a case id is 1-64 letters, digits, dash or underscore')

export const WorkspaceLabelSchema = z.object({
  /** the voxel value; fixed forever once the label exists */
  value: z.number().int().min(1).max(254),
  name: z.string().min(1).max(64),
  color: Rgb,
  /** SNOMED CT concept of the structure (SegmentedPropertyType in DICOM SEG) */
  snomed: CodeSchema,
  /** DICOM SEG SegmentedPropertyCategory: anatomical structure vs. morphologically altered structure */
  category: CodeSchema,
  /** for lesions: the organ they lie in (DICOM SEG AnatomicRegionSequence) */
  anatomicRegion: CodeSchema.optional(),
  /** model organs come from the model's label table; team classes are added by the team */
  source: LabelSourceSchema,
  /** the table version that added it */
  addedIn: z.number().int().min(1),
  /** retired labels stay in the table (their value is never reused) but leave the palette */
  retired: z.boolean().default(false),
})
export type WorkspaceLabel = z.infer<typeof WorkspaceLabelSchema>

export const LabelTableSchema = z
  .object({
    /** increases by one on every change */
    version: z.number().int().min(1),
    labels: z.array(WorkspaceLabelSchema).min(1),
    history: z.array(z.object({ version: z.number().int().min(1), at: Iso, change: z.string() })),
  })
  .superRefine((t, ctx) => {
    const seen = new Set<number>()
    const names = new Set<string>()
    for (const l of t.labels) {
      if (seen.has(l.value)) ctx.addIssue({ code: 'custom', message: `label value ${l.value} is used twice`, path: ['labels'] })
      seen.add(l.value)
      const n = l.name.toLowerCase()
      if (names.has(n)) ctx.addIssue({ code: 'custom', message: `label name "${l.name}" is used twice`, path: ['labels'] })
      names.add(n)
      if (l.addedIn > t.version) ctx.addIssue({ code: 'custom', message: `label ${l.value} was added in version ${l.addedIn}, after the table's version ${t.version}`, path: ['labels'] })
    }
  })
export type LabelTable = z.infer<typeof LabelTableSchema>

export const WorkspaceFileSchema = z.object({
  schema: z.literal(WORKSPACE_SCHEMA_VERSION),
  name: z.string().min(1),
  createdAt: Iso,
  labelTable: LabelTableSchema,
})
export type WorkspaceFile = z.infer<typeof WorkspaceFileSchema>

export const ModelRefSchema = z.object({
  id: z.string().min(1),
  version: z.string().min(1),
  /** execution provider that ran it (cpu, cuda, webgpu) */
  provider: z.string().min(1),
})
export type ModelRef = z.infer<typeof ModelRefSchema>

/** Per-label summary of the saved labelmap; the hash lets a save tell which organs changed. */
export const LabelStatSchema = z.object({ voxels: z.number().int().min(0), hash: z.string() })

export const CaseFileSchema = z.object({
  schema: z.literal(CASE_SCHEMA_VERSION),
  id: CaseIdSchema,
  name: z.string().min(1),
  ct: z.object({
    /** absolute path, or relative to the case folder when the CT was copied into it */
    path: z.string().min(1),
    copied: z.boolean(),
    seriesUid: z.string().optional(),
    /** the CT's voxel grid (v1 kept dims/spacing/origin/direction beside path) */
    geometry: GeometrySchema,
  }),
  /** random, fixed at creation: a host checks it before every save, so it never writes into a case
   * that another host replaced (older case files have none; createdAt stands in) */
  uid: z.string().min(8).optional(),
  createdAt: Iso,
  updatedAt: Iso,
  /** set by the first save of the labels; a case with none is "to do" */
  firstEditAt: Iso.optional(),
  lastEditAt: Iso.optional(),
  /** the model prediction the labels started from (prediction.nii.gz) */
  prediction: z.object({ file: z.string().min(1), model: ModelRefSchema, createdAt: Iso, notes: PredictionNotesSchema.optional() }).optional(),
  /** people who saved edits, in order of first edit */
  annotators: z.array(z.string()),
  labelTableVersion: z.number().int().min(1),
  labelStats: z.record(z.string().regex(/^\d+$/), LabelStatSchema),
  /** per-label review, keyed by label value */
  review: z.record(z.string().regex(/^\d+$/), OrganReviewSchema),
  /** set explicitly with setStatus; otherwise the status is derived from review and edits.
   * "reviewed" can never be set by hand: it means every organ was approved. */
  statusOverride: CaseStatusSchema.exclude(['reviewed']).optional(),
  /** comment given with a whole-case flag */
  flagComment: z.string().max(2000).optional(),
})
export type CaseFile = z.infer<typeof CaseFileSchema>

export const LockFileSchema = z.object({
  pid: z.number().int().positive(),
  hostname: z.string(),
  since: Iso,
  owner: z.string().optional(),
})
export type LockFile = z.infer<typeof LockFileSchema>

/** Zod issues as one readable line: "field.path: message; ...". */
export function formatIssues(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.length ? i.path.join('.') : '(top level)'}: ${i.message}`).join('; ')
}
