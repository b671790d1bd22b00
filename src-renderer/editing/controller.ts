/**
 * Turns pointer input on the three views into edits. The viewer's own navigation tools (crosshairs,
 * zoom, pan, W/L, scroll) keep every input this controller does not take: it takes only a plain
 * left-button drag while an editing tool is active, in the capture phase, before Cornerstone sees it.
 *
 * Every gesture — a whole brush stroke, one scissors cut, one fill — becomes ONE patch, so one undo.
 */
import { editStore, type ToolName } from '../store/edit-store.js'
import { labelName, labelsStore, lockedValues } from '../store/labels-store.js'
import type { Viewer, ViewName } from '../viewer/viewer.js'
import { gridToArray, type Vec3 } from './grid.js'
import { EditOverlay } from './overlay.js'
import { GrowController } from './grow-controller.js'
import { VIEW_NAMES } from '../names.js'
import { PatchBuilder, type Patch } from './patch.js'
import { floodFill, interpolateSlices, smallIslands } from './regions.js'
import type { EditSession } from './session.js'
import { circle, erase, huRange, outside, paint, plane, prism, rectangle, sphere, stamp, unlocked, voxels, wholeVolume, type Guard, type Operation, type Shape } from './strategies.js'

/** How each tool's edit is named in the undo history. */
const VERBS: Record<ToolName, string> = {
  navigate: 'Navigate',
  brush: 'Brush',
  eraser: 'Erase',
  threshold: 'Threshold brush',
  'scissors-circle': 'Scissors circle',
  'scissors-rectangle': 'Scissors rectangle',
  'scissors-sphere': 'Scissors sphere',
  fill: 'Fill',
  'grow-from-seeds': 'Grow from seeds',
}

interface Gesture {
  view: ViewName
  tool: ToolName
  builder: PatchBuilder
  start: { ijk: Vec3; normal: 0 | 1 | 2; x: number; y: number }
  last: Vec3
}

export interface DabTiming {
  ms: number
  voxels: number
}

export class EditController {
  private gesture: Gesture | null = null
  /** the view the user last worked in: interpolation runs along its axis */
  lastView: ViewName = 'axial'
  /** per-dab compute+upload-request times (ms), newest last; read by the benchmark */
  readonly dabTimes: DabTiming[] = []

  private readonly overlay: EditOverlay
  /** grow from seeds: its seeds and preview live with this session */
  readonly grow: GrowController

  constructor(private readonly viewer: Viewer, private readonly session: EditSession, overlays: Record<ViewName, SVGSVGElement>) {
    this.overlay = new EditOverlay(viewer, session, overlays, (c, n) => this.brushShape(c, n))
    this.grow = new GrowController(session)
  }

  /** The seeds on each view's current slice (after a stroke, a slice change, a new view). */
  drawSeeds(): void {
    for (const view of VIEW_NAMES) this.overlay.drawSeeds(view, (normal, index) => this.grow.seedsOnSlice(normal, index))
  }

  private notice(text: string | null): void {
    editStore.setState({ notice: text })
  }

  /** Operation + guards for the active tool, or null with a notice when editing is not allowed. */
  private recipe(tool: ToolName): { op: Operation; guards: Guard[]; verb: string } | null {
    const active = labelsStore.getState().activeValue
    const locked = lockedValues()
    if (locked.has(active)) {
      this.notice(`${labelName(active)} is locked: unlock it to edit.`)
      return null
    }
    const guards: Guard[] = [unlocked(locked)]
    if (tool === 'eraser') return { op: erase(active), guards, verb: 'Erase' }
    if (tool === 'threshold') {
      const [lo, hi] = editStore.getState().thresholdHu
      guards.push(huRange(this.session.ct, lo, hi))
      return { op: paint(active), guards, verb: VERBS.threshold }
    }
    return { op: paint(active), guards, verb: VERBS[tool] }
  }

  private brushShape(centre: Vec3, normal: 0 | 1 | 2): Shape {
    const { brushRadiusMm, brush3d } = editStore.getState()
    return brush3d ? sphere(centre, brushRadiusMm, this.session.grid.spacing) : circle(centre, brushRadiusMm, this.session.grid.spacing, normal)
  }

  /** One brush dab at a voxel position (used by pointer input, tests and the benchmark). */
  dab(builder: PatchBuilder, centre: Vec3, normal: 0 | 1 | 2, tool: ToolName): number {
    const t0 = performance.now()
    const r = this.recipe(tool)
    if (!r) return 0
    const before = builder.size
    const touched = new Set<number>()
    const shape = this.brushShape(centre, normal)
    stamp(this.session.grid, shape, r.op, r.guards, builder)
    // only the slices this dab touched are re-uploaded: one for a circle on an axial view,
    // k ± radius otherwise (sagittal/coronal circles and spheres cross many axial slices)
    const { brush3d, brushRadiusMm } = editStore.getState()
    const kc = Math.round(centre[2])
    const rk = !brush3d && normal === 2 ? 0 : Math.ceil(brushRadiusMm / this.session.grid.spacing[2])
    for (let k = Math.max(0, kc - rk); k <= Math.min(this.session.grid.dims[2] - 1, kc + rk); k++) touched.add(k)
    const changed = builder.size - before
    if (changed > 0) this.viewer.labelsModified([...touched])
    this.dabTimes.push({ ms: performance.now() - t0, voxels: changed })
    if (this.dabTimes.length > 10_000) this.dabTimes.splice(0, 5_000)
    return changed
  }

  // ---- pointer input --------------------------------------------------------------------------

  attach(view: ViewName, el: HTMLElement): () => void {
    const down = (e: PointerEvent): void => {
      const tool = editStore.getState().tool
      if (tool === 'navigate' || e.button !== 0 || e.shiftKey || e.ctrlKey || e.altKey || e.metaKey) return
      e.stopPropagation()
      e.preventDefault()
      this.lastView = view
      const { x, y } = local(el, e)
      if (tool === 'grow-from-seeds') {
        // seeds, not labels: no patch, no lock check (a seed changes nothing)
        const p = this.viewer.pick(view, x, y)
        this.gesture = { view, tool, builder: new PatchBuilder(this.session.grid), start: { ijk: p.ijk, normal: p.normal, x, y }, last: p.ijk }
        el.setPointerCapture?.(e.pointerId)
        this.grow.paintSeeds(this.brushShape(p.ijk, p.normal))
        this.drawSeeds()
        return
      }
      if (!this.recipe(tool)) return // e.g. the active organ is locked: the notice says so
      const p = this.viewer.pick(view, x, y)
      if (tool === 'fill') {
        this.fillAt(p.ijk, p.normal, false)
        return
      }
      const builder = new PatchBuilder(this.session.grid)
      this.gesture = { view, tool, builder, start: { ijk: p.ijk, normal: p.normal, x, y }, last: p.ijk }
      el.setPointerCapture?.(e.pointerId)
      if (tool === 'brush' || tool === 'eraser' || tool === 'threshold') this.dab(builder, p.ijk, p.normal, tool)
    }
    const move = (e: PointerEvent): void => {
      const { x, y } = local(el, e)
      this.overlay.drawCursor(view, x, y)
      const g = this.gesture
      if (!g || g.view !== view) return
      e.stopPropagation()
      const p = this.viewer.pick(view, x, y)
      if (g.tool === 'brush' || g.tool === 'eraser' || g.tool === 'threshold' || g.tool === 'grow-from-seeds') {
        // fill the gap between pointer events with dabs half a radius apart
        const { brushRadiusMm } = editStore.getState()
        const sp = this.session.grid.spacing
        const dmm = Math.hypot((p.ijk[0] - g.last[0]) * sp[0], (p.ijk[1] - g.last[1]) * sp[1], (p.ijk[2] - g.last[2]) * sp[2])
        const steps = Math.max(1, Math.ceil(dmm / Math.max(0.5, brushRadiusMm / 2)))
        for (let s = 1; s <= steps; s++) {
          const t = s / steps
          const c: Vec3 = [g.last[0] + (p.ijk[0] - g.last[0]) * t, g.last[1] + (p.ijk[1] - g.last[1]) * t, g.last[2] + (p.ijk[2] - g.last[2]) * t]
          if (g.tool === 'grow-from-seeds') this.grow.paintSeeds(this.brushShape(c, g.start.normal))
          else this.dab(g.builder, c, g.start.normal, g.tool)
        }
        g.last = p.ijk
        if (g.tool === 'grow-from-seeds') this.drawSeeds()
      } else {
        g.last = p.ijk
        this.overlay.drawScissorsPreview(view, g, x, y)
      }
    }
    const up = (e: PointerEvent): void => {
      const g = this.gesture
      if (!g || g.view !== view) return
      e.stopPropagation()
      this.gesture = null
      const { x, y } = local(el, e)
      const p = this.viewer.pick(view, x, y)
      this.overlay.clearPreview(view)
      if (g.tool === 'grow-from-seeds') return
      if (g.tool.startsWith('scissors')) this.scissors(g, p.ijk)
      else this.finish(g.builder, g.tool)
    }
    const leave = (): void => this.overlay.clearCursor(view)
    el.addEventListener('pointerdown', down, true)
    el.addEventListener('pointermove', move, true)
    el.addEventListener('pointerup', up, true)
    el.addEventListener('pointerleave', leave)
    // Cornerstone listens to mouse events: swallow them while a gesture of ours is in progress
    const swallow = (e: MouseEvent): void => {
      if (editStore.getState().tool !== 'navigate' && e.button === 0 && !e.shiftKey && !e.ctrlKey && !e.altKey && !e.metaKey) e.stopPropagation()
    }
    el.addEventListener('mousedown', swallow, true)
    return () => {
      el.removeEventListener('pointerdown', down, true)
      el.removeEventListener('pointermove', move, true)
      el.removeEventListener('pointerup', up, true)
      el.removeEventListener('pointerleave', leave)
      el.removeEventListener('mousedown', swallow, true)
    }
  }

  private finish(builder: PatchBuilder, tool: ToolName, verbOverride?: string): Patch | null {
    const verb = verbOverride ?? VERBS[tool]
    const p = builder.build(`${verb} ${labelName(labelsStore.getState().activeValue)}`)
    this.session.commit(p)
    this.notice(p.indices.length ? null : 'Nothing changed (locked organs and the HU range limit what tools change).')
    return p
  }

  private scissors(g: Gesture, end: Vec3): void {
    const r = this.recipe(g.tool)
    if (!r) return
    const sp = this.session.grid.spacing
    const a = g.start.ijk
    const radiusMm = Math.hypot((end[0] - a[0]) * sp[0], (end[1] - a[1]) * sp[1], (end[2] - a[2]) * sp[2])
    const { scissorsMode: mode, scissorsThrough } = editStore.getState()
    const flat = g.tool === 'scissors-rectangle' ? rectangle(a, end, g.start.normal) : circle(a, radiusMm, sp, g.start.normal)
    // a circle or rectangle cuts its slice, or (through the volume) every slice along the view
    const through = scissorsThrough && g.tool !== 'scissors-sphere'
    const drawn = g.tool === 'scissors-sphere' ? sphere(a, radiusMm, sp) : through ? prism(flat, g.start.normal) : flat
    // outside a shape on its slice is the rest of that slice; outside a sphere or a cut through the
    // volume, the rest of the volume
    const shape = mode.endsWith('outside') ? outside(drawn, g.tool === 'scissors-sphere' || through ? wholeVolume() : plane(g.start.normal, a[g.start.normal])) : drawn
    const active = labelsStore.getState().activeValue
    const op = mode.startsWith('erase') ? erase(active) : r.op
    stamp(this.session.grid, shape, op, r.guards, g.builder)
    this.finish(g.builder, g.tool, mode === 'fill-inside' && !through ? undefined : `${VERBS[g.tool]} ${mode.replace('-', ' ')}${through ? ' through the volume' : ''}`)
  }

  // ---- region commands ------------------------------------------------------------------------

  fillAt(ijk: Vec3, normal: 0 | 1 | 2, threeD: boolean): Patch | null {
    const r = this.recipe('fill')
    if (!r) return null
    const list = floodFill(this.session.grid, ijk, normal, threeD)
    const b = new PatchBuilder(this.session.grid, Math.max(1024, list.length))
    stamp(this.session.grid, voxels(list, this.session.grid.dims), r.op, r.guards, b)
    return this.finish(b, 'fill')
  }

  interpolate(normal?: 0 | 1 | 2): Patch | null {
    const active = labelsStore.getState().activeValue
    if (!this.recipe('brush')) return null
    const axis = normal ?? this.viewer.pick(this.lastView, 1, 1).normal
    const { voxels: list, gaps } = interpolateSlices(this.session.grid, active, axis)
    if (gaps === 0) {
      this.notice(`Nothing to interpolate: draw ${labelName(active)} on two slices with a gap between them.`)
      return null
    }
    const b = new PatchBuilder(this.session.grid, Math.max(1024, list.length))
    stamp(this.session.grid, voxels(list, this.session.grid.dims), paint(active), [unlocked(lockedValues())], b)
    const p = b.build(`Interpolate ${labelName(active)} (${gaps} gap${gaps === 1 ? '' : 's'})`)
    this.session.commit(p)
    return p
  }

  removeIslands(): Patch | null {
    const active = labelsStore.getState().activeValue
    if (!this.recipe('eraser')) return null
    const { voxels: list, islands } = smallIslands(this.session.grid, active)
    if (islands === 0) {
      this.notice(`${labelName(active)} has no small islands.`)
      return null
    }
    const b = new PatchBuilder(this.session.grid, Math.max(1024, list.length))
    stamp(this.session.grid, voxels(list, this.session.grid.dims), erase(active), [], b)
    const p = b.build(`Remove ${islands} small island${islands === 1 ? '' : 's'} of ${labelName(active)}`)
    this.session.commit(p)
    return p
  }

  labelsArray(): Uint8Array {
    return gridToArray(this.session.grid)
  }
}

function local(el: HTMLElement, e: PointerEvent): { x: number; y: number } {
  const r = el.getBoundingClientRect()
  return { x: e.clientX - r.left, y: e.clientY - r.top }
}
