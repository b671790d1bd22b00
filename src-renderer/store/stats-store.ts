/** Organ statistics as computed by the stats worker (plain numbers). */
import { createStore } from 'zustand/vanilla'
import type { LabelFigures } from '../stats/stats-math.js'
import type { LesionRecord } from '../../src-shared/lesion-analysis.js'

/** One organ's figures; added/removed/Dice are against the prediction (null without one). */
export type OrganStats = LabelFigures

export interface StatsState {
  byValue: Record<number, OrganStats>
  /** increments each time the worker answers (tests wait on it) */
  version: number
  /** ms the worker spent on the last update */
  lastUpdateMs: number
  hasPrediction: boolean
  /** per lesion label: its lesions (connected components), largest first */
  lesions: Record<number, LesionRecord[]>
  lesionsVersion: number
  lesionsMs: number
}

export const statsStore = createStore<StatsState>(() => ({ byValue: {}, version: 0, lastUpdateMs: 0, hasPrediction: false, lesions: {}, lesionsVersion: 0, lesionsMs: 0 }))
