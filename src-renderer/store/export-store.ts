/** Export of the open volume's labels: owned by the export controller. Plain data only. */
import { createStore } from 'zustand/vanilla'
import type { ExportFormat } from '../api/types.js'

export interface ExportState {
  /** last export: files written, or the reason it failed */
  exported: { files: string[] } | null
  exportError: string | null
  exporting: boolean
  /** the export target exists: replace it only if the user says so */
  exportConfirm: { format: ExportFormat; outPath: string; newStudy: boolean } | null
}

export const exportStore = createStore<ExportState>(() => ({
  exported: null,
  exportError: null,
  exporting: false,
  exportConfirm: null,
}))
