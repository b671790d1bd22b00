/** The label table as the user sees it: fixed values, names and colours, plus display state. */
import { createStore } from 'zustand/vanilla'
import { FLARE_LABELS, type LabelClass } from '../../src-shared/labels.js'

export interface LabelRow {
  value: number
  name: string
  color: [number, number, number]
  visible: boolean
  locked: boolean
}

export interface LabelsState {
  rows: LabelRow[]
  activeValue: number
  opacity: number
  /** 'fill' draws filled regions with an outline; 'outline' draws the outline only */
  style: 'fill' | 'outline'
}

export function rowsFrom(classes: readonly LabelClass[]): LabelRow[] {
  return [...classes].sort((a, b) => a.value - b.value).map((c) => ({ value: c.value, name: c.name, color: [...c.color] as [number, number, number], visible: true, locked: false }))
}

export const labelsStore = createStore<LabelsState>(() => ({
  rows: rowsFrom(FLARE_LABELS),
  activeValue: FLARE_LABELS[0]!.value,
  opacity: 0.45,
  style: 'fill',
}))

export function setLabelClasses(classes: readonly LabelClass[]): void {
  const rows = rowsFrom(classes)
  const active = labelsStore.getState().activeValue
  labelsStore.setState({ rows, activeValue: rows.some((r) => r.value === active) ? active : (rows[0]?.value ?? 1) })
}

export function patchRow(value: number, patch: Partial<Pick<LabelRow, 'visible' | 'locked'>>): void {
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
