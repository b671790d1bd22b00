/** Organ statistics as computed by the stats worker (plain numbers). */
import { createStore } from 'zustand/vanilla'

export interface OrganStats {
  value: number
  voxels: number
  volumeMl: number
  meanHu: number | null
  stdHu: number | null
  /** against the prediction; null when there is no prediction */
  added: number | null
  removed: number | null
  dice: number | null
}

export interface StatsState {
  byValue: Record<number, OrganStats>
  /** increments each time the worker answers (tests wait on it) */
  version: number
  /** ms the worker spent on the last update */
  lastUpdateMs: number
  hasPrediction: boolean
}

export const statsStore = createStore<StatsState>(() => ({ byValue: {}, version: 0, lastUpdateMs: 0, hasPrediction: false }))
