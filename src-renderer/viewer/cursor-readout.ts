/**
 * The status readout under the pointer (HU, voxel, slice n/N, LPS mm, label). Pointer moves are
 * coalesced to one pick per animation frame: a 1000 Hz mouse must not cost 1000 picks a second.
 */
import type { CtGrid, LabelGrid, Vec3 } from '../editing/grid.js'
import type { ViewName } from '../names.js'
import { cursorStore, type CursorInfo } from '../store/cursor-store.js'
import { labelName } from '../store/labels-store.js'
import type { Viewer } from './viewer.js'

export class CursorReadout {
  private pending: { view: ViewName; x: number; y: number } | null = null
  /** where the pointer last was: a slice step, a wheel scroll or an edit changes what lies under it */
  private last: { view: ViewName; x: number; y: number } | null = null
  private frame = 0

  constructor(private readonly viewer: Viewer, private readonly ct: CtGrid, private readonly labels: LabelGrid) {}

  /** Reads again under the still pointer (after a render: another slice, or edited labels). */
  refresh(): void {
    if (!this.last || this.pending) return
    this.pending = this.last
    if (!this.frame) this.frame = requestAnimationFrame(() => this.flush())
  }

  attach(view: ViewName, el: HTMLElement): () => void {
    const move = (e: PointerEvent): void => {
      const r = el.getBoundingClientRect()
      this.pending = { view, x: e.clientX - r.left, y: e.clientY - r.top }
      if (cursorStore.getState().activeView !== view) cursorStore.setState({ activeView: view })
      if (!this.frame) this.frame = requestAnimationFrame(() => this.flush())
    }
    // the pointer left this view: nothing to read again under it
    const leave = (): void => {
      if (this.last?.view === view) this.last = null
    }
    el.addEventListener('pointermove', move, true)
    el.addEventListener('pointerleave', leave, true)
    return () => {
      el.removeEventListener('pointermove', move, true)
      el.removeEventListener('pointerleave', leave, true)
      cancelAnimationFrame(this.frame)
      this.frame = 0
    }
  }

  private flush(): void {
    this.frame = 0
    const p = this.pending
    if (!p) return
    this.pending = null
    this.last = p
    try {
      cursorStore.setState({ cursor: this.at(p.view, p.x, p.y) })
    } catch {
      // the view is being rebuilt (a new volume): the next move reads again
    }
  }

  /** What lies under canvas point (x, y) of a view; null outside the volume. */
  at(view: ViewName, x: number, y: number): CursorInfo | null {
    const { ijk, normal, world } = this.viewer.pick(view, x, y)
    const [nx, ny, nz] = this.ct.dims
    const v = ijk.map(Math.round) as Vec3
    if (v[0] < 0 || v[1] < 0 || v[2] < 0 || v[0] >= nx || v[1] >= ny || v[2] >= nz) return null
    const label = this.labels.slices[v[2]]![v[0] + nx * v[1]]!
    return {
      view,
      ijk: v,
      hu: this.ct.data[v[0] + nx * (v[1] + ny * v[2])]!,
      slice: v[normal] + 1,
      slices: this.ct.dims[normal],
      lps: world,
      label,
      labelName: label === 0 ? '' : labelName(label),
    }
  }
}

/** "HU 42 · voxel (10, 20, 5) · slice 6/40" and, on a second line, "(-12.5, 30.0, 7.5) mm LPS · liver" */
export function formatCursor(c: CursorInfo | null): string {
  if (!c) return 'Outside the volume'
  const hu = Number.isInteger(c.hu) ? String(c.hu) : c.hu.toFixed(1)
  const mm = c.lps.map((x) => x.toFixed(1)).join(', ')
  return `HU ${hu} · voxel (${c.ijk.join(', ')}) · slice ${c.slice}/${c.slices}\n(${mm}) mm LPS · ${c.labelName || 'no label'}`
}
