/** The model run: progress, cancel, and the plain-words error if it failed. */
import { createStore } from 'zustand/vanilla'

export interface SegmentState {
  running: boolean
  fraction: number
  stage: string
  error: string | null
  lastRun: { model: string; seconds: number } | null
  models: { id: string; description: string }[]
  /** chosen model id; null = the host's default */
  modelId: string | null
  /** model folders the host could not read, in words */
  modelProblems: string[]
}

export const segmentStore = createStore<SegmentState>(() => ({ running: false, fraction: 0, stage: '', error: null, lastRun: null, models: [], modelId: null, modelProblems: [] }))
