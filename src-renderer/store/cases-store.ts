/** The workspace's cases as listed by the host (plain data). */
import { createStore } from 'zustand/vanilla'
import type { CaseSummary } from '../api/types.js'

export interface CasesState {
  cases: CaseSummary[]
  /** the workspace case of the open volume, if it is one */
  openCaseId: string | null
  error: string | null
  /** last export: files written, or the reason it failed */
  exported: { files: string[] } | null
  exportError: string | null
  exporting: boolean
}

export const casesStore = createStore<CasesState>(() => ({ cases: [], openCaseId: null, error: null, exported: null, exportError: null, exporting: false }))
