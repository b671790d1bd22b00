/**
 * The provenance record written beside every label export: which model predicted the labels, who
 * edited and who reviewed them, when, and how much each organ changed since the prediction (voxels
 * added/removed, Dice prediction-vs-final). Data teams use it to weigh or audit training labels.
 */
import { z } from 'zod'
import { ReviewStateSchema } from '../../src-shared/contract/schemas.js'
import { editStats } from './label-stats.js'
import { ModelRefSchema, type CaseFile, type LabelTable, type ModelRef } from './schemas.js'

export const PROVENANCE_SCHEMA_VERSION = 1

export const OrganProvenanceSchema = z.object({
  value: z.number().int().min(1).max(255),
  name: z.string(),
  predictedVoxels: z.number().int().min(0),
  finalVoxels: z.number().int().min(0),
  added: z.number().int().min(0),
  removed: z.number().int().min(0),
  dice: z.number().min(0).max(1).nullable(),
  /** true when the final voxels differ from the prediction's */
  edited: z.boolean(),
  review: z.object({ state: ReviewStateSchema, reviewer: z.string().optional(), at: z.string().optional(), comment: z.string().optional() }),
})
export type OrganProvenance = z.infer<typeof OrganProvenanceSchema>

export const ProvenanceSchema = z.object({
  schema: z.literal(PROVENANCE_SCHEMA_VERSION),
  software: z.object({ name: z.literal('SCN Studio'), version: z.string() }),
  case: z.object({ id: z.string(), name: z.string() }).nullable(),
  ct: z.object({ path: z.string(), seriesUid: z.string().optional(), dims: z.array(z.number().int()), spacing: z.array(z.number()) }),
  /** null when the labels did not start from a model prediction */
  model: ModelRefSchema.nullable(),
  annotators: z.array(z.string()),
  reviewers: z.array(z.string()),
  timestamps: z.object({
    caseCreated: z.string().optional(),
    predicted: z.string().optional(),
    firstEdit: z.string().optional(),
    lastEdit: z.string().optional(),
    exported: z.string(),
  }),
  labelTableVersion: z.number().int().min(1),
  organs: z.array(OrganProvenanceSchema),
  export: z.object({ format: z.string(), files: z.array(z.string()) }),
})
export type Provenance = z.infer<typeof ProvenanceSchema>

export const SOFTWARE_VERSION = '0.1.0'

export interface ProvenanceInput {
  table: LabelTable
  final: Uint8Array
  prediction?: Uint8Array
  model?: ModelRef
  caseFile?: CaseFile
  ct: { path: string; seriesUid?: string; dims: number[]; spacing: number[] }
  annotators?: string[]
  format: string
  files: string[]
  exportedAt?: string
}

/** Builds the record; organs = every table label (absent ones included, so "absent" is explicit). */
export function buildProvenance(p: ProvenanceInput): Provenance {
  const values = p.table.labels.map((l) => l.value)
  const stats = editStats(p.prediction, p.final, values)
  const c = p.caseFile
  const organs: OrganProvenance[] = stats.map((s) => {
    const l = p.table.labels.find((x) => x.value === s.value)!
    const r = c?.review[String(s.value)]
    return {
      ...s,
      name: l.name,
      edited: s.added > 0 || s.removed > 0,
      review: { state: r?.state ?? 'pending', ...(r?.reviewer ? { reviewer: r.reviewer } : {}), ...(r?.at ? { at: r.at } : {}), ...(r?.comment ? { comment: r.comment } : {}) },
    }
  })
  const reviewers = [...new Set(Object.values(c?.review ?? {}).map((r) => r.reviewer).filter((x): x is string => !!x))]
  return ProvenanceSchema.parse({
    schema: PROVENANCE_SCHEMA_VERSION,
    software: { name: 'SCN Studio', version: SOFTWARE_VERSION },
    case: c ? { id: c.id, name: c.name } : null,
    ct: p.ct,
    model: p.model ?? c?.prediction?.model ?? null,
    annotators: p.annotators ?? c?.annotators ?? [],
    reviewers,
    timestamps: {
      ...(c ? { caseCreated: c.createdAt } : {}),
      ...(c?.prediction ? { predicted: c.prediction.createdAt } : {}),
      ...(c?.firstEditAt ? { firstEdit: c.firstEditAt } : {}),
      ...(c?.lastEditAt ? { lastEdit: c.lastEditAt } : {}),
      exported: p.exportedAt ?? new Date().toISOString(),
    },
    labelTableVersion: p.table.version,
    organs,
    export: { format: p.format, files: p.files },
  })
}
