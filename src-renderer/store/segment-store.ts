/** The model run: progress, cancel, and the plain-words error if it failed. */
import { createStore } from 'zustand/vanilla'

export interface SegmentState {
  running: boolean
  fraction: number
  stage: string
  error: string | null
  lastRun: { model: string; seconds: number } | null
}

export const segmentStore = createStore<SegmentState>(() => ({ running: false, fraction: 0, stage: '', error: null, lastRun: null }))
