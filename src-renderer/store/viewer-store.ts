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
}

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
