/**
 * What lies under the pointer (the status readout): kept apart from viewerStore because it changes
 * at pointer speed and only the readout line should re-render. Plain data only.
 */
import { createStore } from 'zustand/vanilla'
import type { ViewName } from '../names.js'

export interface CursorInfo {
  view: ViewName
  /** nearest voxel index (i, j, k) */
  ijk: [number, number, number]
  /** CT value at that voxel (HU) */
  hu: number
  /** 1-based slice of this view along its axis, and how many there are */
  slice: number
  slices: number
  /** patient position of the pointer in mm, LPS (Cornerstone's world coordinates) */
  lps: [number, number, number]
  /** label value under the pointer and its name ('' for background) */
  label: number
  labelName: string
}

export interface CursorState {
  cursor: CursorInfo | null
  /** the view the pointer was last over: arrow keys and PageUp/PageDown step its slices */
  activeView: ViewName
}

export const cursorStore = createStore<CursorState>(() => ({ cursor: null, activeView: 'axial' }))
