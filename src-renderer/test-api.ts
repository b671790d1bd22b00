/**
 * The page's test hook (window.__scn), used by the e2e tests and the editing benchmark through
 * page.evaluate. Plain data in, plain data out; types only here so Node-side code can import it.
 * It can apply edits, so only the test build installs it (`npm run build:test` -> dist/renderer-test,
 * vite mode 'test' sets import.meta.env.SCN_TEST_HOOK); `npm run build` ships without it.
 */
import type { Vec3 } from '../src-shared/volume.js'
import type { ToolName, ViewName } from './names.js'

export type { ViewName }
export type V3 = Vec3
export type ToolId = ToolName

export interface ScnTestApi {
  /** voxels holding `value` in the page's labelmap */
  countValue(value: number): number
  /** FNV-1a of the whole labelmap: equal before an edit and after its undo */
  labelsChecksum(): number
  dims(): V3 | null
  labelAt(ijk: V3): number
  /** CT HU at a voxel */
  ctAt(ijk: V3): number
  setBrush(radiusMm: number, sphere: boolean): void
  setTool(tool: ToolId): void
  /** one dab at a voxel on a view's plane as its own undo step: voxels changed, ms in the page */
  dabAt(view: ViewName, ijk: V3, tool?: ToolId): { changed: number; ms: number }
  /** writes the open case's undo history to the browser's store now (it is kept across a reload) */
  keepHistoryNow(): Promise<void>
  /** undo and redo depth of the open volume's history */
  historyDepth(): { undo: number; redo: number }
  timeUndo(): number
  timeRedo(): number
  timeToolSwitch(tool: ToolId): number
  /** replaces the labelmap with `target` as one undo step; ms and voxels changed */
  timeApplyLabels(target: Uint8Array, name: string): { ms: number; voxels: number }
  /** a region command as the user runs it (one undo step): ms in the page and voxels changed */
  timeRegion(kind: 'fill' | 'fill3d' | 'interpolate' | 'islands', view: ViewName, ijk?: V3): { ms: number; voxels: number }
  setActiveLabel(value: number): void
  /** ms until the three views have rendered once more */
  timeRender(): Promise<number>
  /** canvas (CSS px, relative to the viewport element) of a voxel centre */
  canvasOf(view: ViewName, ijk: V3): [number, number]
  /** continuous voxel index under a canvas point */
  pickAt(view: ViewName, x: number, y: number): V3
  sliceIndex(view: ViewName): number
  /** the 3D view's direction of projection and up vector (LPS unit vectors), null before it is set up */
  camera3d(): { direction: V3; viewUp: V3 } | null
  /** camera parallel scale (smaller = zoomed in) */
  parallelScale(view: ViewName): number
  dabTimes(): { ms: number; voxels: number }[]
}

declare global {
  interface Window {
    __scn?: ScnTestApi
  }
}
