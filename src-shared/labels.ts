/**
 * The label values SCN Studio writes. They are stable forever: never renumber (exports, trained
 * models and users' datasets depend on them). Values 1-4 follow FLARE21.
 */
import type { CodedConcept, LabelClassDto, LabelPresetName, LabelTableRow } from './contract/schemas.js'

/** A label class as the app defines it: the contract's record (value, name, sRGB 0-255 display
 *  colour) with its SNOMED CT concept always present. */
export type LabelClass = LabelClassDto & { snomed: NonNullable<LabelClassDto['snomed']> }

export const FLARE_LABELS: readonly LabelClass[] = [
  { value: 1, name: 'liver', color: [221, 130, 101], snomed: { code: '10200004', meaning: 'Liver' } },
  { value: 2, name: 'kidney', color: [120, 160, 205], snomed: { code: '64033007', meaning: 'Kidney' } },
  { value: 3, name: 'spleen', color: [157, 108, 162], snomed: { code: '78961009', meaning: 'Spleen' } },
  { value: 4, name: 'pancreas', color: [249, 180, 111], snomed: { code: '15776009', meaning: 'Pancreas' } },
]

type Rgb = [number, number, number]

/** SNOMED CT 123037004: the DICOM SEG category of normal organs (the model's labels). */
export const ANATOMICAL_STRUCTURE_CONCEPT: CodedConcept = { code: '123037004', meaning: 'Anatomical Structure', scheme: 'SCT' }
/** SNOMED CT 85756007 "Tissue": type and category of a team class added by name, with no code of its own. */
export const TISSUE_CONCEPT: CodedConcept = { code: '85756007', meaning: 'Tissue', scheme: 'SCT' }
/** SNOMED CT 49755003: the DICOM SEG category of lesions. A label of this category is a lesion. */
export const MORPHOLOGICALLY_ALTERED_CONCEPT: CodedConcept = { code: '49755003', meaning: 'Morphologically Altered Structure', scheme: 'SCT' }
/** SNOMED CT 52988006 "Lesion", qualified by the organ it lies in (DICOM SEG anatomic region). */
export const LESION_CONCEPT: CodedConcept = { code: '52988006', meaning: 'Lesion', scheme: 'SCT' }

/** Whether a label is a lesion: derived from its category, never stored. */
export function isLesionCategory(category: Pick<CodedConcept, 'code'> & { scheme?: string }): boolean {
  return category.code === MORPHOLOGICALLY_ALTERED_CONCEPT.code && (category.scheme ?? 'SCT') === MORPHOLOGICALLY_ALTERED_CONCEPT.scheme
}

/**
 * Colours of the classes a team adds: saturated, far from the organ colours above (muted warm tones
 * and a mauve) and from each other. The first five are the presets'; a class added by name takes
 * the first of the others that no label in the palette shows.
 */
export const TEAM_COLORS: readonly Rgb[] = [
  [255, 220, 0], // yellow
  [0, 200, 255], // cyan
  [255, 60, 200], // magenta
  [40, 220, 60], // green
  [255, 30, 30], // red
  [40, 80, 255], // blue
  [0, 150, 140], // teal
  [0, 255, 160], // spring green
  [128, 0, 255], // purple
  [255, 255, 255], // white
]

export interface LabelPresetDef {
  color: Rgb
  snomed: CodedConcept
  category: CodedConcept
  /** the organ a lesion lies in; none for "other lesion" */
  anatomicRegion?: CodedConcept
}

const organConcept = (name: string): CodedConcept => {
  const l = FLARE_LABELS.find((x) => x.name === name)!
  return { code: l.snomed.code, meaning: l.snomed.meaning, scheme: 'SCT' }
}
const lesionIn = (color: Rgb, organ?: string): LabelPresetDef => ({
  color,
  snomed: LESION_CONCEPT,
  category: MORPHOLOGICALLY_ALTERED_CONCEPT,
  ...(organ ? { anatomicRegion: organConcept(organ) } : {}),
})

/**
 * The lesion classes a team adds with one click (issue 14): Lesion in the category Morphologically
 * Altered Structure, with the organ as anatomic region. Names and their order: the contract's
 * LABEL_PRESET_NAMES. The workspace table (src-main/cases/label-table.ts) assigns values on add.
 */
export const LABEL_PRESETS: Readonly<Record<LabelPresetName, LabelPresetDef>> = {
  'liver lesion': lesionIn(TEAM_COLORS[0], 'liver'),
  'kidney lesion': lesionIn(TEAM_COLORS[1], 'kidney'),
  'pancreatic lesion': lesionIn(TEAM_COLORS[2], 'pancreas'),
  'splenic lesion': lesionIn(TEAM_COLORS[3], 'spleen'),
  'other lesion': lesionIn(TEAM_COLORS[4]),
}

/** The palette of a label table (labelTable.get): its rows that are not retired, in value order. */
export function labelClassesOf(table: { labels: readonly LabelTableRow[] }): LabelClass[] {
  return table.labels
    .filter((l) => !l.retired)
    .sort((a, b) => a.value - b.value)
    .map((l) => ({ value: l.value, name: l.name, color: [...l.color] as [number, number, number], snomed: { code: l.snomed.code, meaning: l.snomed.meaning } }))
}
