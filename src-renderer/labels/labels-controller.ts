/**
 * The segment list's domain: the workspace label table (values fixed forever, 1-4 the organs) as
 * the host keeps it, and what the user does to it: add (a name or a preset, e.g. a lesion class),
 * rename, recolour, delete. Owns the table part of labelsStore; display state (visibility, lock,
 * opacity) stays in the page.
 *
 * Delete = retire on the host (the value stays reserved, labels.ts). When the label has voxels in
 * the open volume the user is asked first, and the voxels are erased as one undo step: undo brings
 * them back, and a retired label that still has voxels stays listed (greyed), so no voxel is ever
 * painted with a label the list does not show.
 */
import { PlainError, type LabelTableView, type Rgb, type ScnClient } from '../api/types.js'
import type { EditingController } from '../editing/editing-controller.js'
import { labelsStore, setLabelClasses, type LabelRow } from '../store/labels-store.js'
import { statsStore } from '../store/stats-store.js'

export class LabelsController {
  constructor(
    private readonly client: ScnClient,
    private readonly editing: EditingController,
  ) {
    this.client.onLabelTableChanged?.((t) => this.apply(t))
    // a retired label whose voxels come back (undo of its delete) is listed again
    statsStore.subscribe((s, prev) => {
      if (s.byValue !== prev.byValue && this.table) this.apply(this.table)
    })
  }

  private table: LabelTableView | null = null
  private shownKey = ''

  /** Asks the host for the table (at start and for every opened volume). */
  async refresh(): Promise<void> {
    if (this.client.kind === 'demo' && !this.client.labelTable) return
    try {
      this.apply(await this.client.labelTable())
    } catch (e) {
      labelsStore.setState({ tableError: (e as Error).message })
    }
  }

  private apply(t: LabelTableView): void {
    const byValue = statsStore.getState().byValue
    const shown = t.labels.filter((l) => !l.retired || (byValue[l.value]?.voxels ?? 0) > 0)
    // the stats worker updates after every edit: rebuild the rows only when the table or the set of
    // listed labels changed, not on each brush dab
    const key = `${t.version}:${shown.map((l) => l.value).join(',')}`
    if (this.table === t && key === this.shownKey) return
    this.table = t
    this.shownKey = key
    labelsStore.setState({ tableValues: t.labels.map((l) => l.value) })
    setLabelClasses(shown.map((l) => ({ value: l.value, name: l.name, color: l.color, snomed: { code: l.snomed.code, meaning: l.snomed.meaning }, isLesion: l.isLesion, source: l.source, retired: l.retired })))
    labelsStore.setState({ presets: t.presets.map((p) => ({ name: p.name, isLesion: p.isLesion, inTable: p.inTable, color: p.color })), tableError: null })
  }

  private async change(what: () => Promise<LabelTableView>): Promise<boolean> {
    try {
      this.apply(await what())
      return true
    } catch (e) {
      labelsStore.setState({ tableError: e instanceof PlainError ? e.message : (e as Error).message })
      return false
    }
  }

  /** Adds a label (a preset name picks its codes and colour) and makes it the active one. */
  async add(name: string, color?: Rgb): Promise<boolean> {
    const preset = labelsStore.getState().presets.find((p) => p.name === name.trim().toLowerCase() && !p.inTable)
    let added = 0
    const ok = await this.change(async () => {
      const r = await this.client.addLabel(preset ? { preset: preset.name, ...(color ? { color } : {}) } : { name: name.trim(), ...(color ? { color } : {}) })
      added = r.added
      return r
    })
    if (ok && added) labelsStore.setState({ activeValue: added })
    return ok
  }

  rename(value: number, name: string): Promise<boolean> {
    return this.change(() => this.client.updateLabel(value, { name: name.trim() }))
  }

  /** Shown at once (the picker drags through colours); the host keeps the last one. */
  recolor(value: number, color: Rgb): Promise<boolean> {
    labelsStore.setState((s) => ({ rows: s.rows.map((r) => (r.value === value ? { ...r, color } : r)) }))
    return this.change(() => this.client.updateLabel(value, { color }))
  }

  /** Voxels the label has in the open volume (the stats worker's count). */
  voxelsOf(value: number): number {
    return statsStore.getState().byValue[value]?.voxels ?? 0
  }

  /** Asks (in the list) before a delete that would erase voxels. */
  requestDelete(value: number): void {
    const row = labelsStore.getState().rows.find((r) => r.value === value)
    if (!row) return
    const voxels = this.voxelsOf(value)
    if (voxels > 0) labelsStore.setState({ confirmDelete: { value, name: row.name, voxels } })
    else void this.remove(row)
  }

  async confirmDelete(yes: boolean): Promise<void> {
    const c = labelsStore.getState().confirmDelete
    labelsStore.setState({ confirmDelete: null })
    if (!yes || !c) return
    const row = labelsStore.getState().rows.find((r) => r.value === c.value)
    if (row) await this.remove(row)
  }

  private async remove(row: LabelRow): Promise<void> {
    if (this.voxelsOf(row.value) > 0) this.editing.eraseLabel(row.value, `Delete ${row.name}`)
    if (labelsStore.getState().activeValue === row.value) labelsStore.setState({ activeValue: labelsStore.getState().rows.find((r) => r.value !== row.value)?.value ?? 1 })
    await this.change(() => this.client.retireLabel(row.value))
  }
}
