/**
 * Case status from the review record. A case is "reviewed" only when every organ to review is
 * approved; any flagged organ (or a whole-case flag) makes it "flagged"; otherwise it is
 * "in progress" once labels were saved, else "to do". Organs to review: the model's organs (an
 * organ the model and the annotator both left empty still needs someone to confirm it is absent)
 * plus every other class present in the labels.
 */
import type { CaseFile, CaseStatus, LabelTable } from './schemas.js'

export function reviewItems(c: Pick<CaseFile, 'labelStats'>, table: LabelTable): number[] {
  const values = new Set<number>()
  for (const l of table.labels) if (l.source === 'model' && !l.retired) values.add(l.value)
  for (const [v, s] of Object.entries(c.labelStats)) if (s.voxels > 0) values.add(Number(v))
  return [...values].sort((a, b) => a - b)
}

export function deriveStatus(c: Pick<CaseFile, 'labelStats' | 'review' | 'statusOverride' | 'firstEditAt'>, table: LabelTable): CaseStatus {
  const items = reviewItems(c, table)
  if (c.statusOverride === 'flagged' || items.some((v) => c.review[String(v)]?.state === 'flagged')) return 'flagged'
  if (items.length > 0 && items.every((v) => c.review[String(v)]?.state === 'approved')) return 'reviewed'
  if (c.statusOverride) return c.statusOverride
  return c.firstEditAt ? 'in-progress' : 'todo'
}

/** Values whose review is not "approved" (nnU-Net export marks these "ignore" on request). */
export function unapprovedValues(c: Pick<CaseFile, 'labelStats' | 'review'>, table: LabelTable): number[] {
  return reviewItems(c, table).filter((v) => c.review[String(v)]?.state !== 'approved')
}
