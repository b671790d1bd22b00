/** The label table as the user sees it: fixed values, names and colours, plus display state. */
import { createStore } from 'zustand/vanilla'
import { FLARE_LABELS, type LabelClass } from '../../src-shared/labels.js'
import type { LabelPresetName } from '../api/types.js'

export interface LabelRow {
  value: number
  name: string
  color: [number, number, number]
  visible: boolean
  locked: boolean
  /** the label's own opacity, 0..1 (times the overlay opacity in the MPR views) */
  opacity: number
  /** a lesion class (SNOMED Morphologically Altered Structure): it gets a lesion table */
  isLesion: boolean
  /** 'model': an organ of the model (values 1-4), 'team': added in this workspace */
  source: 'model' | 'team'
  /** deleted from the palette but still painted in this volume (listed until its voxels go) */
  retired: boolean
}

/** A label class with what the workspace table adds to it. */
export type TableClass = LabelClass & { isLesion?: boolean; source?: 'model' | 'team'; retired?: boolean }

export interface LabelsState {
  rows: LabelRow[]
  activeValue: number
  opacity: number
  /** 'fill' draws filled regions with an outline; 'outline' draws the outline only */
  style: 'fill' | 'outline'
  /** every value of the workspace table, retired ones included (the stats worker counts them all) */
  tableValues: number[]
  /** classes the team can add with one click (lesions first) */
  presets: { name: LabelPresetName; isLesion: boolean; inTable: boolean; color: [number, number, number] }[]
  /** the host refused a change to the table, in words */
  tableError: string | null
  /** a delete that would erase voxels waits for the user's yes */
  confirmDelete: { value: number; name: string; voxels: number } | null
}

export function rowsFrom(classes: readonly TableClass[]): LabelRow[] {
  return [...classes]
    .sort((a, b) => a.value - b.value)
    .map((c) => ({ value: c.value, name: c.name, color: [...c.color] as [number, number, number], visible: true, locked: false, opacity: 1, isLesion: c.isLesion ?? false, source: c.source ?? (c.value <= 4 ? 'model' : 'team'), retired: c.retired ?? false }))
}

export const labelsStore = createStore<LabelsState>(() => ({
  rows: rowsFrom(FLARE_LABELS),
  activeValue: FLARE_LABELS[0]!.value,
  opacity: 0.45,
  style: 'fill',
  tableValues: [],
  presets: [],
  tableError: null,
  confirmDelete: null,
}))

export function setLabelClasses(classes: readonly TableClass[]): void {
  // a changed table (a label added or renamed) keeps what the user set on the rows it still has
  const before = new Map(labelsStore.getState().rows.map((r) => [r.value, r]))
  const rows = rowsFrom(classes).map((r) => {
    const b = before.get(r.value)
    return b ? { ...r, visible: b.visible, locked: b.locked, opacity: b.opacity } : r
  })
  const active = labelsStore.getState().activeValue
  labelsStore.setState({ rows, activeValue: rows.some((r) => r.value === active) ? active : (rows[0]?.value ?? 1) })
}

export function patchRow(value: number, patch: Partial<Pick<LabelRow, 'visible' | 'locked' | 'opacity' | 'color' | 'name'>>): void {
  labelsStore.setState((s) => ({ rows: s.rows.map((r) => (r.value === value ? { ...r, ...patch } : r)) }))
}

export function setActiveLabel(value: number): void {
  if (labelsStore.getState().rows.some((r) => r.value === value)) labelsStore.setState({ activeValue: value })
}

/** Values whose voxels no tool may change. */
export function lockedValues(): Set<number> {
  return new Set(labelsStore.getState().rows.filter((r) => r.locked).map((r) => r.value))
}

export function labelName(value: number): string {
  return labelsStore.getState().rows.find((r) => r.value === value)?.name ?? `label ${value}`
}
