/** What the viewer shows: case, load state, window preset: owned by the viewer controller. Plain data only. */
import { createStore } from 'zustand/vanilla'
import type { SeriesChoice } from '../api/types.js'
import { WINDOW_PRESETS, type PresetName } from '../viewer/presets.js'

export type LoadState = 'empty' | 'loading' | 'ready' | 'error'

export interface ViewerState {
  caseId: string | null
  caseName: string
  /** how the open CT is stored on the host; null in demo mode */
  sourceFormat: 'nifti' | 'nrrd' | 'metaimage' | 'dicom' | null
  dims: [number, number, number] | null
  load: LoadState
  /** plain-words message when load === 'error' */
  error: string | null
  window: { width: number; center: number }
  preset: string | null
  /** host line for the status bar */
  hostLine: string
  /** the keyboard help overlay is shown */
  help: boolean
  /** a DICOM folder with several series waits for the user's choice */
  seriesChoice: { path: string; series: SeriesChoice[] } | null
  /** number of rendered frames per viewport, for tests waiting on rendering */
  renders: number
  /** the host stopped answering (its events socket closed); cleared when it is back */
  hostLost: boolean
  /** ms from Open to the first frame showing the opened volume (null while loading) */
  openMs: number | null
  /** frames the 3D view has rendered (tests wait on it) */
  renders3d: number
  /** the pane shown alone (double-click), or null for the 2x2 layout */
  maximized: PaneName | null
  /** the panes in grid order (top-left, top-right, bottom-left, bottom-right): 3D can take any place */
  paneOrder: PaneName[]
}

/** The four panes: the three MPR views and the 3D view of the labels. */
export const PANE_NAMES = ['axial', 'sagittal', 'coronal', '3d'] as const
export type PaneName = (typeof PANE_NAMES)[number]

export const viewerStore = createStore<ViewerState>(() => ({
  caseId: null,
  caseName: '',
  sourceFormat: null,
  dims: null,
  load: 'empty',
  error: null,
  window: { width: 400, center: 40 },
  preset: 'abdomen',
  hostLine: '',
  renders: 0,
  renders3d: 0,
  openMs: null,
  hostLost: false,
  maximized: null,
  paneOrder: [...PANE_NAMES],
  help: false,
  seriesChoice: null,
}))

export function setPreset(name: PresetName): void {
  const p = WINDOW_PRESETS[name]
  viewerStore.setState({ window: { width: p.width, center: p.center }, preset: name })
}

export function toggleHelp(visible = !viewerStore.getState().help): void {
  viewerStore.setState({ help: visible })
}

/** Double-click on a pane: shown alone; again: back to the 2x2 layout. */
export function toggleMaximized(pane: PaneName): void {
  viewerStore.setState((s) => ({ maximized: s.maximized === pane ? null : pane }))
}

/** Puts the 3D view where `pane` is, and `pane` where the 3D view was. */
export function swapWith3d(pane: PaneName): void {
  viewerStore.setState((s) => {
    const order = [...s.paneOrder]
    const a = order.indexOf(pane)
    const b = order.indexOf('3d')
    ;[order[a], order[b]] = [order[b]!, order[a]!]
    return { paneOrder: order }
  })
}
