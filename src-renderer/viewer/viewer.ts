/**
 * The MPR viewer: one rendering engine, three orthographic viewports (axial, sagittal, coronal)
 * over one CT volume and its labelmap, linked crosshairs, wheel scroll, zoom/pan, W/L drag.
 * Cornerstone objects live here, never in the store or in Vue reactivity.
 */
import { Enums, eventTarget, RenderingEngine, setVolumesForViewports, utilities as csUtilities, type Types } from '@cornerstonejs/core'
import {
  CrosshairsTool,
  Enums as ToolEnums,
  PanTool,
  segmentation,
  StackScrollTool,
  ToolGroupManager,
  WindowLevelTool,
  ZoomTool,
  type Types as ToolTypes,
} from '@cornerstonejs/tools'
import type { GridGeometry, Vec3 } from '../api/types.js'
import type { LabelRow } from '../store/labels-store.js'
import { viewerStore } from '../store/viewer-store.js'
import { editStore } from '../store/edit-store.js'
import { initCornerstone } from './cornerstone.js'
import { createCaseVolumes, removeCaseVolumes, type CsVolumes } from './ct-volume.js'
import { cross, dominantIndexAxis, norm, orientationLetter, worldToIndex } from '../../src-shared/geometry.js'
import { voiRange, windowFromRange } from './presets.js'
import { styleLabelActor, type Label3dRow } from './labels-3d.js'
import { attachOrbitDrag } from './orbit-3d.js'
import { boxCorners, fitCorners, labelIndexBounds } from './fit-3d.js'

import { VIEW_NAMES, type ViewName } from '../names.js'
export { VIEW_NAMES, type ViewName }

const ENGINE_ID = 'scnEngine'
const TOOL_GROUP_ID = 'scnTools'
const TOOL_GROUP_3D_ID = 'scnTools3d'
const VIEWPORT_3D_ID = 'scn-3d'
const SEGMENTATION_ID = 'scnSegmentation'

export interface OrientationLetters {
  top: string
  bottom: string
  left: string
  right: string
}

export class Viewer {
  private engine: RenderingEngine | null = null
  private volumes: CsVolumes | null = null
  geometry: GridGeometry | null = null
  private cleanup: (() => void)[] = []
  /** called with fresh orientation letters whenever a camera changes */
  onOrientation: (view: ViewName, letters: OrientationLetters) => void = () => {}

  /** the 3D view's orientation as set up (front, head up): what its reset returns to */
  private initialView3d: { viewPlaneNormal: Types.Point3; viewUp: Types.Point3 } | null = null

  /** the label rows the 3D view shows (kept for re-styling after load) */
  private rows3d: readonly Label3dRow[] = []

  /** `element3d`: the 3D view of the labels (optional: tests and old layouts have none) */
  constructor(
    private readonly elements: Record<ViewName, HTMLDivElement>,
    private readonly element3d?: HTMLDivElement,
  ) {}

  viewportId(view: ViewName): string {
    return `scn-${view}`
  }

  async load(geometry: GridGeometry, ct: Int16Array | Float32Array, labelRows: readonly { value: number; name: string }[] = []): Promise<Uint8Array[]> {
    await initCornerstone()
    this.unload()
    this.geometry = geometry
    this.engine ??= new RenderingEngine(ENGINE_ID)
    const engine = this.engine
    engine.setViewports([
      ...VIEW_NAMES.map((view) => ({
        viewportId: this.viewportId(view),
        type: Enums.ViewportType.ORTHOGRAPHIC,
        element: this.elements[view],
        defaultOptions: { orientation: Enums.OrientationAxis[view.toUpperCase() as 'AXIAL' | 'SAGITTAL' | 'CORONAL'], background: [0, 0, 0] as Types.Point3 },
      })),
      ...(this.element3d
        ? [{ viewportId: VIEWPORT_3D_ID, type: Enums.ViewportType.VOLUME_3D, element: this.element3d, defaultOptions: { orientation: Enums.OrientationAxis.CORONAL, background: [0.06, 0.07, 0.09] as Types.Point3 } }]
        : []),
    ])
    this.volumes = createCaseVolumes(geometry, ct)
    const ids = VIEW_NAMES.map((v) => this.viewportId(v))
    await setVolumesForViewports(engine, [{ volumeId: this.volumes.ctVolumeId }], ids)
    this.setupTools(ids)
    segmentation.addSegmentations([
      {
        segmentationId: SEGMENTATION_ID,
        representation: { type: ToolEnums.SegmentationRepresentations.Labelmap, data: { volumeId: this.volumes.labelVolumeId } },
        // every class up front: per-segment visibility only applies to segments the state knows
        config: { segments: Object.fromEntries(labelRows.map((r) => [r.value, { segmentIndex: r.value, label: r.name, locked: false, cachedStats: {}, active: false }])) },
      },
    ])
    await segmentation.addLabelmapRepresentationToViewportMap(Object.fromEntries(ids.map((id) => [id, [{ segmentationId: SEGMENTATION_ID }]])))
    const { width, center } = viewerStore.getState().window
    this.setWindow(width, center)
    this.listen()
    engine.render()
    // The 3D view ray-casts the whole labelmap; its first frame can take seconds (all of them in
    // software WebGL: 15 s for 512x512x300). It is set up once the slices are on screen, so the
    // user reads the CT meanwhile (issue 15: open -> first slices).
    if (this.element3d) {
      const volumes = this.volumes
      requestAnimationFrame(() =>
        requestAnimationFrame(() => {
          // another case opened meanwhile: its own load sets up the 3D view
          if (this.volumes !== volumes) return
          this.load3d(geometry).then(
            () => this.volumes === volumes && this.render3d(),
            // the slices work without it: say so rather than leave an empty pane unexplained
            (e) => editStore.setState({ notice: `The 3D view could not be set up: ${(e as Error).message}` }),
          )
        }),
      )
    }
    return this.volumes.labelSlices
  }

  /** The 3D view: the labelmap volume ray-cast with the label colours (labels-3d.ts), turned by dragging (orbit-3d.ts). */
  private async load3d(geometry: GridGeometry): Promise<void> {
    const minSpacing = Math.min(...geometry.spacing)
    await setVolumesForViewports(
      this.engine!,
      [{ volumeId: this.volumes!.labelVolumeId, callback: ({ volumeActor }) => styleLabelActor(volumeActor, this.rows3d, minSpacing) }],
      [VIEWPORT_3D_ID],
    )
    ToolGroupManager.destroyToolGroup(TOOL_GROUP_3D_ID)
    const group = ToolGroupManager.createToolGroup(TOOL_GROUP_3D_ID)!
    group.addViewport(VIEWPORT_3D_ID, ENGINE_ID)
    group.addTool(ZoomTool.toolName)
    group.addTool(PanTool.toolName)
    const B = ToolEnums.MouseBindings
    group.setToolActive(ZoomTool.toolName, { bindings: [{ mouseButton: B.Secondary }, { mouseButton: B.Wheel }] })
    group.setToolActive(PanTool.toolName, { bindings: [{ mouseButton: B.Auxiliary }] })
    const vp = this.engine!.getViewport(VIEWPORT_3D_ID) as Types.IVolumeViewport
    // seen from the front (the coronal orientation), head up, the labels framed (fit-3d.ts)
    vp.resetCamera()
    const { viewPlaneNormal, viewUp } = vp.getCamera()
    this.initialView3d = viewPlaneNormal && viewUp ? { viewPlaneNormal: [...viewPlaneNormal] as Types.Point3, viewUp: [...viewUp] as Types.Point3 } : null
    this.frameLabels3d(vp)
    const el = this.element3d!
    const engine = this.engine!
    this.cleanup.push(attachOrbitDrag(el, () => (engine.getViewport(VIEWPORT_3D_ID) as Types.IVolumeViewport | undefined) ?? null))
    const onRendered = (): void => viewerStore.setState((s) => ({ renders3d: s.renders3d + 1 }))
    el.addEventListener(Enums.Events.IMAGE_RENDERED, onRendered)
    this.cleanup.push(() => el.removeEventListener(Enums.Events.IMAGE_RENDERED, onRendered))
  }

  /** Re-applies the label colours, visibility and opacities to the 3D view. */
  private restyle3d(): void {
    if (!this.engine || !this.volumes || !this.element3d || !this.geometry) return
    const vp = this.engine.getViewport(VIEWPORT_3D_ID) as Types.IVolumeViewport | undefined
    const actor = vp?.getDefaultActor()?.actor as Types.VolumeActor | undefined
    if (!actor) return
    styleLabelActor(actor, this.rows3d, Math.min(...this.geometry.spacing))
    vp!.render()
  }

  /** The 3D view re-renders after an edit (its texture is the labelmap's, updated by Cornerstone). */
  render3d(): void {
    if (!this.engine || !this.element3d) return
    this.engine.getViewport(VIEWPORT_3D_ID)?.render()
  }

  /** Back to the default 3D camera: seen from the front again, the labels as they are now framed. */
  reset3d(): void {
    const vp = this.engine?.getViewport(VIEWPORT_3D_ID) as Types.IVolumeViewport | undefined
    if (!vp) return
    // resetCamera re-centres and re-zooms but keeps a turned view turned
    if (this.initialView3d) vp.setCamera({ ...this.initialView3d })
    vp.resetCamera()
    this.frameLabels3d(vp)
    vp.render()
  }

  /**
   * Centres the 3D camera on the labelled voxels and fits their box with a margin (the whole grid
   * when nothing is labelled); Cornerstone's own fit is the whole volume edge to edge.
   */
  private frameLabels3d(vp: Types.IVolumeViewport): void {
    if (!this.geometry || !this.volumes) return
    const g = this.geometry
    const box = labelIndexBounds(this.volumes.labelSlices, g.dims) ?? { min: [0, 0, 0] as Vec3, max: g.dims.map((n) => n - 1) as Vec3 }
    const cam = vp.getCamera()
    if (!cam.viewPlaneNormal || !cam.viewUp || !cam.position || !cam.focalPoint) return
    const distance = norm([0, 1, 2].map((i) => cam.position![i]! - cam.focalPoint![i]!) as Vec3) || 1000
    const canvas = vp.canvas
    const aspect = canvas.clientWidth > 0 && canvas.clientHeight > 0 ? canvas.clientWidth / canvas.clientHeight : 1
    // Cornerstone's viewPlaneNormal points from the focal point to the camera
    const fit = fitCorners(boxCorners(g, box), cam.viewPlaneNormal.map((v) => -v) as Vec3, [...cam.viewUp] as Vec3, aspect, distance)
    vp.setCamera({ focalPoint: fit.focalPoint as Types.Point3, position: fit.position as Types.Point3, parallelScale: fit.parallelScale })
  }

  private setupTools(ids: string[]): void {
    ToolGroupManager.destroyToolGroup(TOOL_GROUP_ID)
    const group = ToolGroupManager.createToolGroup(TOOL_GROUP_ID)!
    for (const id of ids) group.addViewport(id, ENGINE_ID)
    group.addTool(CrosshairsTool.toolName, { getReferenceLineColor: () => 'rgb(255, 210, 0)' })
    group.addTool(WindowLevelTool.toolName)
    group.addTool(PanTool.toolName)
    group.addTool(ZoomTool.toolName)
    group.addTool(StackScrollTool.toolName)
    const B = ToolEnums.MouseBindings
    const K = ToolEnums.KeyboardBindings
    group.setToolActive(CrosshairsTool.toolName, { bindings: [{ mouseButton: B.Primary }] })
    group.setToolActive(WindowLevelTool.toolName, { bindings: [{ mouseButton: B.Primary, modifierKey: K.Shift }, { mouseButton: B.Primary, modifierKey: K.Ctrl }] })
    group.setToolActive(PanTool.toolName, { bindings: [{ mouseButton: B.Auxiliary }] })
    group.setToolActive(ZoomTool.toolName, { bindings: [{ mouseButton: B.Secondary }] })
    group.setToolActive(StackScrollTool.toolName, { bindings: [{ mouseButton: B.Wheel }] })
  }

  private listen(): void {
    const onVoi = (e: Event): void => {
      const d = (e as CustomEvent<{ range: { lower: number; upper: number } }>).detail
      if (!d?.range) return
      const w = windowFromRange(d.range.lower, d.range.upper)
      const cur = viewerStore.getState().window
      if (Math.abs(cur.width - w.width) > 0.5 || Math.abs(cur.center - w.center) > 0.5) {
        // the store is the one source of truth: its subscriber applies the window to all views
        viewerStore.setState({ window: { width: Math.round(w.width), center: Math.round(w.center) }, preset: null })
      }
    }
    const onCamera = (e: Event): void => {
      const id = (e as CustomEvent<{ viewportId: string }>).detail?.viewportId
      const view = VIEW_NAMES.find((v) => this.viewportId(v) === id)
      if (view) this.onOrientation(view, this.orientation(view))
    }
    const onRendered = (): void => viewerStore.setState((s) => ({ renders: s.renders + 1 }))
    for (const view of VIEW_NAMES) {
      const el = this.elements[view]
      el.addEventListener(Enums.Events.VOI_MODIFIED, onVoi)
      el.addEventListener(Enums.Events.CAMERA_MODIFIED, onCamera)
      el.addEventListener(Enums.Events.IMAGE_RENDERED, onRendered)
      this.cleanup.push(() => {
        el.removeEventListener(Enums.Events.VOI_MODIFIED, onVoi)
        el.removeEventListener(Enums.Events.CAMERA_MODIFIED, onCamera)
        el.removeEventListener(Enums.Events.IMAGE_RENDERED, onRendered)
      })
      this.onOrientation(view, this.orientation(view))
    }
    void eventTarget
  }

  viewport(view: ViewName): Types.IVolumeViewport {
    const vp = this.engine?.getViewport(this.viewportId(view))
    if (!vp) throw new Error(`the ${view} view is not ready`)
    return vp as Types.IVolumeViewport
  }

  /** Applies a window to all three views (W/L is shared). Events suppressed: no feedback loop. */
  setWindow(width: number, center: number): void {
    if (!this.engine || !this.volumes) return
    for (const view of VIEW_NAMES) this.viewport(view).setProperties({ voiRange: voiRange(width, center) }, undefined, true)
    this.engine.render()
  }

  orientation(view: ViewName): OrientationLetters {
    const cam = this.viewport(view).getCamera()
    const up = cam.viewUp as Vec3
    const n = cam.viewPlaneNormal as Vec3
    const right = cross(up, n)
    const neg = (v: Vec3): Vec3 => [-v[0], -v[1], -v[2]]
    return { top: orientationLetter(up), bottom: orientationLetter(neg(up)), right: orientationLetter(right), left: orientationLetter(neg(right)) }
  }

  /** Canvas (CSS px) -> continuous voxel index, plus the index axis the view looks along. */
  pick(view: ViewName, x: number, y: number): { ijk: Vec3; normal: 0 | 1 | 2; world: Vec3 } {
    const vp = this.viewport(view)
    const world = vp.canvasToWorld([x, y]) as Vec3
    const g = this.geometry!
    return { ijk: worldToIndex(g, world), normal: dominantIndexAxis(g, vp.getCamera().viewPlaneNormal as Vec3), world }
  }

  /** Moves a view `delta` slices along its normal, as the wheel does (clamped at the ends). */
  stepSlice(view: ViewName, delta: number): void {
    if (!this.volumes) return
    csUtilities.scroll(this.viewport(view) as unknown as Parameters<typeof csUtilities.scroll>[0], { delta, volumeId: this.volumes.ctVolumeId })
  }

  /** Moves every MPR view to the slice through a world point, keeping each view's zoom and pan. */
  jumpTo(world: Vec3): void {
    if (!this.engine || !this.volumes) return
    for (const view of VIEW_NAMES) {
      const vp = this.viewport(view)
      const cam = vp.getCamera()
      const n = cam.viewPlaneNormal as Vec3
      const f = cam.focalPoint as Vec3
      const p = cam.position as Vec3
      const d = (world[0] - f[0]) * n[0] + (world[1] - f[1]) * n[1] + (world[2] - f[2]) * n[2]
      const move = (v: Vec3): Types.Point3 => [v[0] + n[0] * d, v[1] + n[1] * d, v[2] + n[2] * d]
      vp.setCamera({ focalPoint: move(f), position: move(p) })
    }
    this.engine.render()
  }

  /** Canvas pixels per mm on this view (for drawing the brush cursor at its true size). */
  pixelsPerMm(view: ViewName): number {
    const vp = this.viewport(view)
    const cam = vp.getCamera()
    const focal = cam.focalPoint as Vec3
    const right = cross(cam.viewUp as Vec3, cam.viewPlaneNormal as Vec3)
    const a = vp.worldToCanvas(focal)
    const b = vp.worldToCanvas([focal[0] + right[0] * 10, focal[1] + right[1] * 10, focal[2] + right[2] * 10])
    return Math.hypot(b[0] - a[0], b[1] - a[1]) / 10
  }

  /** Tells Cornerstone which axial slices of the labelmap changed (re-uploads only those). */
  labelsModified(slices: number[]): void {
    if (!this.volumes) return
    segmentation.triggerSegmentationEvents.triggerSegmentationDataModified(SEGMENTATION_ID, slices.length ? slices : undefined)
    // after Cornerstone's own handler has pushed the changed slices into the shared texture; one 3D
    // frame however many dabs a stroke made in this frame (ray casting is the expensive render)
    if (this.render3dPending) return
    this.render3dPending = true
    requestAnimationFrame(() => {
      this.render3dPending = false
      this.render3d()
    })
  }
  private render3dPending = false

  setLabelAppearance(rows: readonly LabelRow[], opacity: number, style: 'fill' | 'outline'): void {
    this.rows3d = rows
    if (!this.volumes) return
    this.restyle3d()
    segmentation.segmentationStyle.setStyle(
      { type: ToolEnums.SegmentationRepresentations.Labelmap },
      { renderFill: style === 'fill', fillAlpha: opacity, fillAlphaInactive: opacity, renderOutline: true, outlineWidth: 1, outlineOpacity: Math.min(1, opacity + 0.4) } as ToolTypes.RepresentationStyle,
    )
    const specifier = { segmentationId: SEGMENTATION_ID, type: ToolEnums.SegmentationRepresentations.Labelmap }
    for (const view of VIEW_NAMES) {
      const id = this.viewportId(view)
      // classes added after load (workspace classes) are unknown to the representation: add them,
      // or setSegmentIndexVisibility silently ignores them
      for (const rep of segmentation.state.getSegmentationRepresentations(id, specifier) ?? []) {
        for (const r of rows) rep.segments[r.value] ??= { visible: true }
      }
      for (const r of rows) {
        // the colour's alpha is the label's own opacity (the overlay's fill alpha multiplies it)
        segmentation.config.color.setSegmentIndexColor(id, SEGMENTATION_ID, r.value, [...r.color, Math.round(255 * r.opacity)] as Types.Color)
        segmentation.config.visibility.setSegmentIndexVisibility(id, specifier, r.value, r.visible)
      }
    }
    this.engine?.render()
  }

  render(): void {
    this.engine?.render()
  }

  /** Canvas sizes follow the layout (window resize, side panel): keep the camera, refit the canvas. */
  resize(): void {
    this.engine?.resize(true, true)
  }

  /** The 3D camera's direction of projection and up vector (null before the 3D view is set up), for tests. */
  camera3d(): { direction: Vec3; viewUp: Vec3 } | null {
    const vp = this.engine?.getViewport(VIEWPORT_3D_ID)
    const c = vp?.getCamera()
    if (!c?.viewPlaneNormal || !c.viewUp) return null
    // Cornerstone's viewPlaneNormal points from the focal point to the camera
    return { direction: c.viewPlaneNormal.map((v) => -v) as Vec3, viewUp: [...c.viewUp] as Vec3 }
  }

  /** Zoom level of a view (parallel scale: smaller = zoomed in), for tests. */
  parallelScale(view: ViewName): number {
    return this.viewport(view).getCamera().parallelScale ?? NaN
  }

  unload(): void {
    for (const c of this.cleanup) c()
    this.cleanup = []
    if (this.volumes) {
      try {
        segmentation.removeSegmentation(SEGMENTATION_ID)
      } catch {
        /* none */
      }
      removeCaseVolumes(this.volumes)
      this.volumes = null
    }
  }

  dispose(): void {
    this.unload()
    ToolGroupManager.destroyToolGroup(TOOL_GROUP_ID)
    ToolGroupManager.destroyToolGroup(TOOL_GROUP_3D_ID)
    this.engine?.destroy()
    this.engine = null
  }
}
