/**
 * The workspace label table: the model's organs plus the classes a team adds (lesions, anything
 * else). Every case and every export of a workspace uses this one table, so a value means the same
 * structure everywhere. Rules, enforced here and nowhere else:
 *  - a value, once in the table, never changes and is never reused (retiring keeps the entry);
 *  - new classes take the next value above every value ever used;
 *  - every change bumps `version` and appends a history line.
 * Functions are pure: they return a new table; the workspace writes it.
 */
import { FLARE_LABELS, type LabelClass } from '../../src-shared/labels.js'
import { LabelTableSchema, formatIssues, type Code, type LabelTable, type WorkspaceLabel } from './schemas.js'

/** SNOMED CT 123037004 — the DICOM SEG category of normal organs. */
export const ANATOMICAL_STRUCTURE: Code = { code: '123037004', meaning: 'Anatomical Structure', scheme: 'SCT' }
/** SNOMED CT 49755003 — the DICOM SEG category of lesions. */
export const MORPHOLOGICALLY_ALTERED: Code = { code: '49755003', meaning: 'Morphologically Altered Structure', scheme: 'SCT' }
/** SNOMED CT 52988006 — "Lesion", qualified by the organ it lies in (anatomic region). */
export const LESION: Code = { code: '52988006', meaning: 'Lesion', scheme: 'SCT' }
/** SNOMED CT 85756007 — "Tissue", the fallback for a team class with no code of its own. */
export const TISSUE: Code = { code: '85756007', meaning: 'Tissue', scheme: 'SCT' }

export interface NewLabel {
  name: string
  color?: [number, number, number]
  snomed?: Code
  category?: Code
  anatomicRegion?: Code
}

const organ = (name: string): Code => {
  const l = FLARE_LABELS.find((x) => x.name === name)!
  return { code: l.snomed.code, meaning: l.snomed.meaning, scheme: 'SCT' }
}

/** The lesion classes the issue names; a team adds them with one click (values assigned on add). */
export const TEAM_PRESETS: readonly NewLabel[] = [
  { name: 'liver lesion', color: [255, 220, 0], snomed: LESION, category: MORPHOLOGICALLY_ALTERED, anatomicRegion: organ('liver') },
  { name: 'kidney lesion', color: [0, 200, 255], snomed: LESION, category: MORPHOLOGICALLY_ALTERED, anatomicRegion: organ('kidney') },
  { name: 'pancreatic lesion', color: [255, 60, 200], snomed: LESION, category: MORPHOLOGICALLY_ALTERED, anatomicRegion: organ('pancreas') },
]

export class LabelTableError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'LabelTableError'
  }
}

function modelLabel(l: LabelClass, version: number): WorkspaceLabel {
  return {
    value: l.value,
    name: l.name,
    color: [...l.color] as [number, number, number],
    snomed: { code: l.snomed.code, meaning: l.snomed.meaning, scheme: 'SCT' },
    category: ANATOMICAL_STRUCTURE,
    source: 'model',
    addedIn: version,
    retired: false,
  }
}

/** A fresh table: the model's organs (FLARE21 values 1-4 by default), version 1. */
export function defaultLabelTable(modelLabels: readonly LabelClass[] = FLARE_LABELS, now = new Date().toISOString()): LabelTable {
  return { version: 1, labels: modelLabels.map((l) => modelLabel(l, 1)), history: [{ version: 1, at: now, change: `created with the model organs ${modelLabels.map((l) => `${l.value} ${l.name}`).join(', ')}` }] }
}

/** Throws a LabelTableError naming the problem when `t` breaks the table rules. */
export function validateLabelTable(t: unknown, where = 'label table'): LabelTable {
  const r = LabelTableSchema.safeParse(t)
  if (!r.success) throw new LabelTableError(`${where}: ${formatIssues(r.error)}`)
  return r.data
}

const DEFAULT_TEAM_COLORS: [number, number, number][] = [
  [255, 220, 0], [0, 200, 255], [255, 60, 200], [120, 255, 120], [255, 120, 0], [160, 120, 255], [0, 255, 200], [255, 255, 255],
]

/** Adds a team class with the next free value. Names are unique (case-insensitive), retired ones included. */
export function addLabel(table: LabelTable, label: NewLabel, now = new Date().toISOString()): { table: LabelTable; added: WorkspaceLabel } {
  const name = label.name.trim()
  if (!name) throw new LabelTableError('a label needs a name')
  const clash = table.labels.find((l) => l.name.toLowerCase() === name.toLowerCase())
  if (clash) throw new LabelTableError(`the label table already has "${clash.name}" (value ${clash.value}${clash.retired ? ', retired' : ''}); names must be unique`)
  const value = Math.max(...table.labels.map((l) => l.value)) + 1
  // 255 stays free: nnU-Net exports put their "ignore" label above the highest value.
  if (value > 254) throw new LabelTableError('the label table is full (values 1-254 are all used)')
  const version = table.version + 1
  const teamCount = table.labels.filter((l) => l.source === 'team').length
  const added: WorkspaceLabel = {
    value,
    name,
    color: label.color ?? DEFAULT_TEAM_COLORS[teamCount % DEFAULT_TEAM_COLORS.length],
    snomed: label.snomed ?? TISSUE,
    category: label.category ?? (label.anatomicRegion ? MORPHOLOGICALLY_ALTERED : TISSUE),
    ...(label.anatomicRegion ? { anatomicRegion: label.anatomicRegion } : {}),
    source: 'team',
    addedIn: version,
    retired: false,
  }
  const next = { version, labels: [...table.labels, added], history: [...table.history, { version, at: now, change: `added ${value} ${name}` }] }
  return { table: validateLabelTable(next), added }
}

/** Hides a label from the palette. Its value stays reserved and labelled voxels keep their meaning. */
export function retireLabel(table: LabelTable, value: number, now = new Date().toISOString()): LabelTable {
  const l = table.labels.find((x) => x.value === value)
  if (!l) throw new LabelTableError(`the label table has no value ${value}`)
  if (l.retired) return table
  const version = table.version + 1
  return {
    version,
    labels: table.labels.map((x) => (x.value === value ? { ...x, retired: true } : x)),
    history: [...table.history, { version, at: now, change: `retired ${value} ${l.name}` }],
  }
}

/**
 * Brings a (new) model's organs into the table. A model value already in the table must name the
 * same structure (same SNOMED code), otherwise the model would silently relabel existing data.
 */
export function mergeModelLabels(table: LabelTable, modelLabels: readonly LabelClass[], now = new Date().toISOString()): LabelTable {
  const add: LabelClass[] = []
  for (const m of modelLabels) {
    const have = table.labels.find((l) => l.value === m.value)
    if (have) {
      if (have.snomed.code !== m.snomed.code) {
        throw new LabelTableError(`the model's label ${m.value} "${m.name}" (SNOMED ${m.snomed.code}) clashes with the workspace's ${have.value} "${have.name}" (SNOMED ${have.snomed.code}); values never change, so this model cannot write into this workspace`)
      }
    } else add.push(m)
  }
  if (add.length === 0) return table
  const version = table.version + 1
  const next = {
    version,
    labels: [...table.labels, ...add.map((m) => modelLabel(m, version))].sort((a, b) => a.value - b.value),
    history: [...table.history, { version, at: now, change: `added model organs ${add.map((m) => `${m.value} ${m.name}`).join(', ')}` }],
  }
  return validateLabelTable(next)
}

export function labelByValue(table: LabelTable, value: number): WorkspaceLabel | undefined {
  return table.labels.find((l) => l.value === value)
}

/** Value of nnU-Net's "ignore" class for this table: above every value. */
export function ignoreValue(table: LabelTable): number {
  return Math.max(...table.labels.map((l) => l.value)) + 1
}
