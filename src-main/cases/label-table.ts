/**
 * The workspace label table: the model's organs plus the classes a team adds (lesions, anything
 * else). Every case and every export of a workspace uses this one table, so a value means the same
 * structure everywhere. Rules, enforced here and nowhere else:
 *  - a value, once in the table, never changes and is never reused (retiring keeps the entry);
 *  - new classes take the next value above every value ever used;
 *  - every change bumps `version` and appends a history line.
 * Functions are pure: they return a new table; the workspace writes it.
 */
import {
  ANATOMICAL_STRUCTURE_CONCEPT,
  LABEL_PRESETS,
  LESION_CONCEPT,
  MORPHOLOGICALLY_ALTERED_CONCEPT,
  TEAM_COLORS,
  TISSUE_CONCEPT,
  FLARE_LABELS,
  isLesionCategory,
  type LabelClass,
} from '../../src-shared/labels.js'
import { LABEL_PRESET_NAMES, type LabelPresetName } from '../../src-shared/contract/schemas.js'
import { LabelTableSchema, formatIssues, type Code, type LabelTable, type WorkspaceLabel } from './schemas.js'

/** SNOMED CT 123037004 — the DICOM SEG category of normal organs. */
export const ANATOMICAL_STRUCTURE: Code = ANATOMICAL_STRUCTURE_CONCEPT
/** SNOMED CT 49755003 — the DICOM SEG category of lesions. */
export const MORPHOLOGICALLY_ALTERED: Code = MORPHOLOGICALLY_ALTERED_CONCEPT
/** SNOMED CT 52988006 — "Lesion", qualified by the organ it lies in (anatomic region). */
export const LESION: Code = LESION_CONCEPT
/** SNOMED CT 85756007 — "Tissue", the fallback for a team class with no code of its own. */
export const TISSUE: Code = TISSUE_CONCEPT

export interface NewLabel {
  name: string
  color?: [number, number, number]
  snomed?: Code
  category?: Code
  anatomicRegion?: Code
}

export { TEAM_COLORS }

/** A lesion: its category is Morphologically Altered Structure. Derived, never stored. */
export function isLesion(l: Pick<WorkspaceLabel, 'category'>): boolean {
  return isLesionCategory(l.category)
}

export type TeamPreset = NewLabel & { name: LabelPresetName; color: [number, number, number]; snomed: Code; category: Code }

/**
 * The lesion classes the issue names (Lesion, SNOMED 52988006, in the category Morphologically
 * Altered Structure 49755003, with the organ as anatomic region; "other lesion" without one); a
 * team adds them with one click (values assigned on add). Defined in src-shared/labels.ts
 * (LABEL_PRESETS), in the order of the contract's LABEL_PRESET_NAMES.
 */
export const TEAM_PRESETS: readonly TeamPreset[] = LABEL_PRESET_NAMES.map((name) => {
  const p = LABEL_PRESETS[name]
  return { name, color: [...p.color] as [number, number, number], snomed: p.snomed, category: p.category, ...(p.anatomicRegion ? { anatomicRegion: p.anatomicRegion } : {}) }
})

export function presetByName(name: string): TeamPreset | undefined {
  return TEAM_PRESETS.find((p) => p.name === name)
}

export class LabelTableError extends Error {
  /** 'not-found': no label has the value asked for; 'invalid': the change breaks a table rule */
  readonly code: 'invalid' | 'not-found'
  constructor(message: string, code: 'invalid' | 'not-found' = 'invalid') {
    super(message)
    this.name = 'LabelTableError'
    this.code = code
  }
}

/** Names nnU-Net's dataset.json keeps for itself. */
const RESERVED_NAMES = ['background', 'ignore']

/** The trimmed name, or a LabelTableError naming what is wrong with it. `except`: the label being renamed. */
function checkName(table: LabelTable, raw: string, except?: number): string {
  const name = raw.trim()
  if (!name) throw new LabelTableError('a label needs a name')
  if (name.length > 64) throw new LabelTableError(`"${name.slice(0, 64)}…" is too long: a label name is at most 64 characters`)
  if (/[\u0000-\u001f\u007f\\]/.test(name)) throw new LabelTableError(`"${name}" cannot be a label name: no control characters or backslashes (DICOM SEG segment labels cannot hold them)`)
  if (RESERVED_NAMES.includes(name.toLowerCase())) throw new LabelTableError(`"${name}" cannot be a label name: nnU-Net's dataset.json keeps "${name.toLowerCase()}" for itself`)
  const clash = table.labels.find((l) => l.value !== except && l.name.toLowerCase() === name.toLowerCase())
  if (clash) throw new LabelTableError(`the label table already has "${clash.name}" (value ${clash.value}${clash.retired ? ', retired' : ''}); names must be unique`)
  return name
}

function labelOf(table: LabelTable, value: number): WorkspaceLabel {
  const l = table.labels.find((x) => x.value === value)
  if (!l) throw new LabelTableError(`the label table has no value ${value}`, 'not-found')
  return l
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

/** The first team colour no label in the palette has (the presets' own colours last, so a preset
 *  added later does not take a colour a named class already shows); when all are taken, the next in turn. */
function defaultColor(table: LabelTable): [number, number, number] {
  const used = new Set(table.labels.filter((l) => !l.retired).map((l) => l.color.join(',')))
  const order = [...TEAM_COLORS.slice(LABEL_PRESET_NAMES.length), ...TEAM_COLORS.slice(0, LABEL_PRESET_NAMES.length)]
  const free = order.find((c) => !used.has(c.join(',')))
  const teamCount = table.labels.filter((l) => l.source === 'team').length
  return [...(free ?? TEAM_COLORS[teamCount % TEAM_COLORS.length])] as [number, number, number]
}

/** Adds a team class with the next free value. Names are unique (case-insensitive), retired ones included. */
export function addLabel(table: LabelTable, label: NewLabel, now = new Date().toISOString()): { table: LabelTable; added: WorkspaceLabel } {
  const name = checkName(table, label.name)
  const value = Math.max(...table.labels.map((l) => l.value)) + 1
  // 255 stays free: nnU-Net exports put their "ignore" label above the highest value.
  if (value > 254) throw new LabelTableError(`the label table is full (values 1-254 are all used, retired ones stay reserved): "${name}" cannot be added`)
  const version = table.version + 1
  const added: WorkspaceLabel = {
    value,
    name,
    color: label.color ? ([...label.color] as [number, number, number]) : defaultColor(table),
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

export interface LabelChange {
  name?: string
  color?: [number, number, number]
}

/**
 * Renames and/or recolours a label (retired ones too: renaming one frees its name). The value never
 * changes, so every case and export keeps meaning the same structure; names stay unique
 * (case-insensitive). Returns `table` itself when nothing changes.
 */
export function updateLabel(table: LabelTable, value: number, change: LabelChange, now = new Date().toISOString()): LabelTable {
  const l = labelOf(table, value)
  const name = change.name === undefined ? l.name : checkName(table, change.name, value)
  const color = change.color ? ([...change.color] as [number, number, number]) : l.color
  if (color.some((c) => !Number.isInteger(c) || c < 0 || c > 255)) throw new LabelTableError(`colour ${color.join(',')} of "${name}": each of red, green and blue is a whole number 0-255`)
  const renamed = name !== l.name
  const recoloured = color.join(',') !== l.color.join(',')
  if (!renamed && !recoloured) return table
  const version = table.version + 1
  const what = [renamed ? `renamed ${value} "${l.name}" to "${name}"` : '', recoloured ? `recoloured ${value} ${name} from ${l.color.join(',')} to ${color.join(',')}` : ''].filter(Boolean).join('; ')
  const next = {
    version,
    labels: table.labels.map((x) => (x.value === value ? { ...x, name, color } : x)),
    history: [...table.history, { version, at: now, change: what }],
  }
  return validateLabelTable(next)
}

/** Hides a label from the palette. Its value stays reserved and labelled voxels keep their meaning. */
export function retireLabel(table: LabelTable, value: number, now = new Date().toISOString()): LabelTable {
  const l = labelOf(table, value)
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
