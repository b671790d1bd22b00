/** What the viewer shows: case, load state, window preset. Plain data only. */
import { createStore } from 'zustand/vanilla'
import type { SeriesChoice } from '../api/types.js'

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
  /** autosave state of the labelmap on the host */
  save: 'saved' | 'unsaved' | 'saving' | 'error'
  saveError: string | null
  /** the host accepted the labels but cannot write them to disk (it keeps them and retries) */
  hostSaveError: string | null
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
  save: 'saved',
  saveError: null,
  hostSaveError: null,
  seriesChoice: null,
}))
