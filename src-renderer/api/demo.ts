/**
 * Runs the renderer with no host at all (open index.html?demo): the phantom is generated in the
 * page with the project's own generator, and "Segment" returns the phantom's truth as the
 * prediction: a recording of the answer, labelled as such, with no model, no staged progress and
 * no made-up timing. For UI development, the editing benchmark and UI tests that must run before
 * (or without) a host; never presented as a model.
 */
import { generatePhantom } from '../../src-shared/phantom.js'
import { LABEL_PRESET_NAMES } from '../../src-shared/contract/schemas.js'
import {
  ANATOMICAL_STRUCTURE_CONCEPT,
  FLARE_LABELS,
  LABEL_PRESETS,
  TEAM_COLORS,
  TISSUE_CONCEPT,
  isLesionCategory,
  labelClassesOf,
} from '../../src-shared/labels.js'
import type { AddLabelInput, CaseSummary, LabelTableAdded, LabelTableRow, LabelTableView, LabelUpdate, LoadedCase, Rgb, ScnClient, SegmentProgress, SegmentResult, Vec3 } from './types.js'
import { PlainError } from './types.js'

/**
 * The label table in the page's memory, for demo mode only: the host's rules (src-main/cases/
 * label-table.ts) in short: values are never reused or changed, names are unique case-insensitive
 * (retired ones count), values stop at 254. Nothing is kept across reloads.
 */
class DemoLabelTable {
  version = 1
  private rows: LabelTableRow[] = FLARE_LABELS.map((l) => ({
    value: l.value,
    name: l.name,
    color: [...l.color] as Rgb,
    snomed: { ...l.snomed, scheme: 'SCT' },
    category: ANATOMICAL_STRUCTURE_CONCEPT,
    source: 'model',
    retired: false,
    isLesion: false,
  }))
  private listeners = new Set<(t: LabelTableView) => void>()

  view(): LabelTableView {
    const names = new Set(this.rows.map((l) => l.name.toLowerCase()))
    return {
      version: this.version,
      labels: this.rows.map((l) => ({ ...l, color: [...l.color] as Rgb })),
      presets: LABEL_PRESET_NAMES.map((name) => {
        const p = LABEL_PRESETS[name]
        return { name, ...p, color: [...p.color] as Rgb, isLesion: isLesionCategory(p.category), inTable: names.has(name) }
      }),
    }
  }

  onChanged(listener: (t: LabelTableView) => void): () => void {
    this.listeners.add(listener)
    return () => void this.listeners.delete(listener)
  }

  add(input: AddLabelInput): LabelTableAdded {
    const preset = input.preset ? LABEL_PRESETS[input.preset] : undefined
    if (input.preset && !preset) throw new PlainError(`There is no preset "${input.preset}".`)
    const name = this.checkName(input.name ?? input.preset ?? '')
    const value = Math.max(...this.rows.map((l) => l.value)) + 1
    if (value > 254) throw new PlainError(`the label table is full (values 1-254 are all used, retired ones stay reserved): "${name}" cannot be added`)
    const used = new Set(this.rows.filter((l) => !l.retired).map((l) => l.color.join(',')))
    const color = input.color ?? preset?.color ?? [...TEAM_COLORS.slice(LABEL_PRESET_NAMES.length), ...TEAM_COLORS].find((c) => !used.has(c.join(','))) ?? TEAM_COLORS[0]
    const category = preset?.category ?? TISSUE_CONCEPT
    this.rows.push({
      value,
      name,
      color: [...color] as Rgb,
      snomed: preset?.snomed ?? TISSUE_CONCEPT,
      category,
      ...(preset?.anatomicRegion ? { anatomicRegion: preset.anatomicRegion } : {}),
      source: 'team',
      retired: false,
      isLesion: isLesionCategory(category),
    })
    return { ...this.changed(), added: value }
  }

  update(value: number, change: LabelUpdate): LabelTableView {
    const row = this.row(value)
    const name = change.name === undefined ? row.name : this.checkName(change.name, value)
    const color = change.color ? ([...change.color] as Rgb) : row.color
    if (name === row.name && color.join(',') === row.color.join(',')) return this.view()
    Object.assign(row, { name, color })
    return this.changed()
  }

  retire(value: number): LabelTableView {
    const row = this.row(value)
    if (row.retired) return this.view()
    row.retired = true
    return this.changed()
  }

  private row(value: number): LabelTableRow {
    const row = this.rows.find((l) => l.value === value)
    if (!row) throw new PlainError(`the label table has no value ${value}`)
    return row
  }

  private checkName(raw: string, except?: number): string {
    const name = raw.trim()
    if (!name) throw new PlainError('a label needs a name')
    if (name.length > 64) throw new PlainError('a label name is at most 64 characters')
    const clash = this.rows.find((l) => l.value !== except && l.name.toLowerCase() === name.toLowerCase())
    if (clash) throw new PlainError(`the label table already has "${clash.name}" (value ${clash.value}${clash.retired ? ', retired' : ''}); names must be unique`)
    return name
  }

  private changed(): LabelTableView {
    this.version++
    const v = this.view()
    for (const l of this.listeners) l(v)
    return v
  }
}

export class DemoClient implements ScnClient {
  readonly kind = 'demo' as const
  private truth = new Map<string, Uint8Array>()
  private n = 0
  private table = new DemoLabelTable()

  async describe(): Promise<string> {
    return 'demo mode: no host, phantom generated in the page, "prediction" = phantom truth'
  }

  async listCases(): Promise<CaseSummary[]> {
    return []
  }

  async createCase(): Promise<CaseSummary> {
    throw new PlainError('Demo mode has no workspace: start the app with "npm run serve" to keep cases.')
  }

  async setCaseStatus(): Promise<CaseSummary> {
    throw new PlainError('Demo mode has no workspace.')
  }

  async getCase(): Promise<CaseSummary> {
    throw new PlainError('Demo mode has no workspace.')
  }

  async reviewOrgan(): Promise<CaseSummary> {
    throw new PlainError('Demo mode has no workspace: review needs a case kept in a workspace ("npm run serve").')
  }

  async launchPath(): Promise<string | null> {
    return null
  }

  async labelTable(): Promise<LabelTableView> {
    return this.table.view()
  }

  async addLabel(label: AddLabelInput): Promise<LabelTableAdded> {
    return this.table.add(label)
  }

  async updateLabel(value: number, change: LabelUpdate): Promise<LabelTableView> {
    return this.table.update(value, change)
  }

  async retireLabel(value: number): Promise<LabelTableView> {
    return this.table.retire(value)
  }

  onLabelTableChanged(listener: (table: LabelTableView) => void): () => void {
    return this.table.onChanged(listener)
  }

  async openPath(path: string): Promise<LoadedCase> {
    throw new PlainError(`Files cannot be opened in demo mode (asked for ${path}): start the app with "npm run serve -- <file>".`)
  }

  async saveLabels(): Promise<void> {}

  async listModels(): Promise<{ models: { id: string; description: string }[]; problems: string[] }> {
    return { models: [{ id: 'phantom-truth', description: 'demo: the phantom truth, no model' }], problems: [] }
  }

  async exportLabels(): Promise<string[]> {
    throw new PlainError('Demo mode cannot write files: start the app with "npm run serve" to export.')
  }

  async workspaceDir(): Promise<string | null> {
    return null
  }

  async close(caseId: string): Promise<void> {
    this.truth.delete(caseId)
  }

  async openCase(caseId: string): Promise<LoadedCase> {
    throw new PlainError(`Case "${caseId}" is not available in demo mode: open a phantom instead.`)
  }

  async openPhantom(opts: { dims?: Vec3; spacing?: Vec3 } = {}): Promise<LoadedCase> {
    const dims = opts.dims ?? [128, 128, 96]
    const spacing = opts.spacing ?? [3, 3, 3]
    const { ct, labels } = generatePhantom({ dims, spacing, seed: 7 })
    const caseId = `phantom-${++this.n}`
    this.truth.set(caseId, labels.data)
    return {
      caseId,
      name: `Phantom ${dims.join('x')}`,
      geometry: { dims, spacing, origin: ct.origin, direction: ct.direction },
      ct: ct.data,
      labelClasses: labelClassesOf(this.table.view()),
    }
  }

  /**
   * No model runs in demo mode. "Segment" hands back the phantom's own truth, recorded when the
   * phantom was made, as the prediction: one progress report that says so, the real (near zero)
   * time it took, and a warning the page shows beside the result.
   */
  async segment(caseId: string, onProgress: (p: SegmentProgress) => void, signal: AbortSignal): Promise<SegmentResult> {
    const truth = this.truth.get(caseId)
    if (!truth) throw new PlainError('There is no open case to segment.')
    if (signal.aborted) throw new DOMException('Segmentation cancelled', 'AbortError')
    const t0 = performance.now()
    onProgress({ fraction: 1, stage: 'demo: the phantom truth (no model runs)' })
    return {
      labels: truth.slice(),
      model: 'phantom truth (demo mode, no model)',
      seconds: (performance.now() - t0) / 1000,
      warnings: ['Demo mode: these labels are the phantom\'s own truth, recorded when it was made; no model ran.'],
    }
  }
}
