/**
 * What the editing tools draw over each view (an SVG layer above the Cornerstone canvas): the brush
 * cursor at its true size, the threshold brush's preview of the voxels in range, the scissors
 * shape while it is dragged. Nothing here changes a label.
 */
import { indexToWorld } from '../../src-shared/geometry.js'
import { editStore, type ToolName } from '../store/edit-store.js'
import { labelsStore } from '../store/labels-store.js'
import type { Viewer, ViewName } from '../viewer/viewer.js'
import { planeAxes, type Vec3 } from './grid.js'
import type { EditSession } from './session.js'
import type { Shape } from './strategies.js'

/** The part of a scissors gesture its preview needs. */
export interface ShapeDrag {
  tool: ToolName
  start: { x: number; y: number }
}

export class EditOverlay {
  constructor(
    private readonly viewer: Viewer,
    private readonly session: EditSession,
    private readonly overlays: Record<ViewName, SVGSVGElement>,
    private readonly brushShape: (centre: Vec3, normal: 0 | 1 | 2) => Shape,
  ) {}

  drawCursor(view: ViewName, x: number, y: number): void {
    const svg = this.overlays[view]
    const tool = editStore.getState().tool
    let c = svg.querySelector<SVGCircleElement>('circle.cursor')
    if (!(tool === 'brush' || tool === 'eraser' || tool === 'threshold' || tool === 'grow-from-seeds')) {
      c?.remove()
      return
    }
    if (!c) {
      c = document.createElementNS('http://www.w3.org/2000/svg', 'circle')
      c.classList.add('cursor')
      svg.appendChild(c)
    }
    const r = editStore.getState().brushRadiusMm * this.viewer.pixelsPerMm(view)
    c.setAttribute('cx', String(x))
    c.setAttribute('cy', String(y))
    c.setAttribute('r', String(Math.max(1, r)))
    c.setAttribute('stroke', tool === 'eraser' ? '#fff' : `rgb(${labelsStore.getState().rows.find((q) => q.value === labelsStore.getState().activeValue)?.color.join(',') ?? '255,255,0'})`)
    if (tool === 'threshold') this.drawThresholdPreview(view, x, y)
    else svg.querySelector('path.threshold-preview')?.remove()
  }

  /**
   * Threshold brush: the voxels under the brush whose HU is in range, tinted before anything is
   * painted (what a click would paint, locks aside). One SVG path of voxel squares.
   */
  private drawThresholdPreview(view: ViewName, x: number, y: number): void {
    const svg = this.overlays[view]
    let p = svg.querySelector<SVGPathElement>('path.threshold-preview')
    if (!p) {
      p = document.createElementNS('http://www.w3.org/2000/svg', 'path')
      p.classList.add('threshold-preview')
      p.dataset.testid = 'threshold-preview'
      svg.insertBefore(p, svg.firstChild)
    }
    const { ijk, normal } = this.viewer.pick(view, x, y)
    const [lo, hi] = editStore.getState().thresholdHu
    const ct = this.session.ct
    const [nx, ny] = ct.dims
    const g = this.viewer.geometry!
    const vp = this.viewer.viewport(view)
    const px = this.viewer.pixelsPerMm(view)
    const { u, v } = planeAxes(normal)
    const half = [g.spacing[u] * px / 2, g.spacing[v] * px / 2]
    const parts: string[] = []
    let count = 0
    this.brushShape(ijk, normal).forEach(ct.dims, (i, j, k) => {
      const hu = ct.data[i + nx * (j + ny * k)]!
      if (hu < lo || hu > hi) return
      count++
      const [cx, cy] = vp.worldToCanvas(indexToWorld(g, [i, j, k]))
      // the voxel's square on screen (axis-aligned views; a rotated view shows it approximately)
      parts.push(`M${(cx - half[0]).toFixed(1)} ${(cy - half[1]).toFixed(1)}h${(2 * half[0]).toFixed(1)}v${(2 * half[1]).toFixed(1)}h${(-2 * half[0]).toFixed(1)}z`)
    })
    p.setAttribute('d', parts.join(''))
    p.dataset.count = String(count)
    const rgb = labelsStore.getState().rows.find((q) => q.value === labelsStore.getState().activeValue)?.color.join(',') ?? '255,255,0'
    p.setAttribute('fill', `rgba(${rgb},0.55)`)
  }

  /**
   * Grow-from-seeds seeds lying on the view's current slice, as dots in their label's colour
   * (background seeds white). `seedsOn(normal, index)` lists them.
   */
  drawSeeds(view: ViewName, seedsOn: (normal: 0 | 1 | 2, index: number) => [Vec3, number][]): void {
    const svg = this.overlays[view]
    svg.querySelectorAll('path.seeds').forEach((n) => n.remove())
    const r = svg.getBoundingClientRect()
    if (!r.width) return
    const { ijk, normal } = this.viewer.pick(view, r.width / 2, r.height / 2)
    const list = seedsOn(normal, Math.round(ijk[normal]))
    if (!list.length) return
    const g = this.viewer.geometry!
    const vp = this.viewer.viewport(view)
    const byValue = new Map<number, string[]>()
    const px = Math.max(1.5, Math.min(...g.spacing) * this.viewer.pixelsPerMm(view) * 0.3)
    for (const [p, v] of list) {
      const [cx, cy] = vp.worldToCanvas(indexToWorld(g, p))
      const parts = byValue.get(v) ?? []
      parts.push(`M${(cx - px).toFixed(1)} ${cy.toFixed(1)}a${px.toFixed(1)} ${px.toFixed(1)} 0 1 0 ${(2 * px).toFixed(1)} 0a${px.toFixed(1)} ${px.toFixed(1)} 0 1 0 ${(-2 * px).toFixed(1)} 0`)
      byValue.set(v, parts)
    }
    for (const [v, parts] of byValue) {
      const el = document.createElementNS('http://www.w3.org/2000/svg', 'path')
      el.classList.add('seeds')
      el.dataset.value = String(v)
      el.setAttribute('d', parts.join(''))
      const row = labelsStore.getState().rows.find((q) => q.value === v)
      el.setAttribute('fill', row ? `rgb(${row.color.join(',')})` : '#fff')
      el.setAttribute('stroke', '#000')
      el.setAttribute('stroke-width', '0.5')
      svg.appendChild(el)
    }
  }

  clearCursor(view: ViewName): void {
    this.overlays[view].querySelector('circle.cursor')?.remove()
    this.overlays[view].querySelector('path.threshold-preview')?.remove()
  }

  drawScissorsPreview(view: ViewName, g: ShapeDrag, x: number, y: number): void {
    const svg = this.overlays[view]
    this.clearPreview(view)
    const ns = 'http://www.w3.org/2000/svg'
    const el = g.tool === 'scissors-rectangle' ? document.createElementNS(ns, 'rect') : document.createElementNS(ns, 'circle')
    el.classList.add('preview')
    if (g.tool === 'scissors-rectangle') {
      el.setAttribute('x', String(Math.min(g.start.x, x)))
      el.setAttribute('y', String(Math.min(g.start.y, y)))
      el.setAttribute('width', String(Math.abs(x - g.start.x)))
      el.setAttribute('height', String(Math.abs(y - g.start.y)))
    } else {
      el.setAttribute('cx', String(g.start.x))
      el.setAttribute('cy', String(g.start.y))
      el.setAttribute('r', String(Math.hypot(x - g.start.x, y - g.start.y)))
    }
    svg.appendChild(el)
  }

  clearPreview(view: ViewName): void {
    this.overlays[view].querySelectorAll('.preview').forEach((n) => n.remove())
  }
}
