/**
 * The label values SCN Studio writes. They are stable forever: never renumber (exports, trained
 * models and users' datasets depend on them). Values 1-4 follow FLARE21.
 */
import type { LabelClassDto } from './contract/schemas.js'

/** A label class as the app defines it: the contract's record (value, name, sRGB 0-255 display
 *  colour) with its SNOMED CT concept always present. */
export type LabelClass = LabelClassDto & { snomed: NonNullable<LabelClassDto['snomed']> }

export const FLARE_LABELS: readonly LabelClass[] = [
  { value: 1, name: 'liver', color: [221, 130, 101], snomed: { code: '10200004', meaning: 'Liver' } },
  { value: 2, name: 'kidney', color: [185, 102, 83], snomed: { code: '64033007', meaning: 'Kidney' } },
  { value: 3, name: 'spleen', color: [157, 108, 162], snomed: { code: '78961009', meaning: 'Spleen' } },
  { value: 4, name: 'pancreas', color: [249, 180, 111], snomed: { code: '15776009', meaning: 'Pancreas' } },
]
