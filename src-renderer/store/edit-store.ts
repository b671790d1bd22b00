/** Editing state: active tool and its settings, and the undo/redo labels shown on the buttons. */
import { createStore } from 'zustand/vanilla'

import { TOOL_NAMES, type ToolName } from '../names.js'
export { TOOL_NAMES, type ToolName }

/** What a scissors cut does, as in Slicer's Scissors (erase inside first, its default). */
export const SCISSORS_MODES = ['erase-inside', 'fill-inside', 'erase-outside', 'fill-outside'] as const
export type ScissorsMode = (typeof SCISSORS_MODES)[number]

export interface EditState {
  tool: ToolName
  /** brush radius in mm */
  brushRadiusMm: number
  /** paint a sphere (3D) instead of a circle on the current slice */
  brush3d: boolean
  /** scissors: erase or fill (the active organ), inside or outside the drawn shape */
  scissorsMode: ScissorsMode
  /** scissors circle / rectangle: cut every slice along the view (a prism), not only the drawn one */
  scissorsThrough: boolean
  /** threshold brush HU range */
  thresholdHu: [number, number]
  /** name of what Ctrl+Z would undo, or null */
  undoLabel: string | null
  redoLabel: string | null
  /** count of edits applied since load (tests wait on it) */
  editCount: number
  /** last message from a tool (e.g. "nothing to interpolate") */
  notice: string | null
  /** grow from seeds: strokes paint background seeds instead of the active label's */
  growBackground: boolean
  /** grow from seeds: seeds painted, labels seeded, a preview on screen, a run in progress */
  grow: { seeds: number; seedLabels: number[]; previewing: boolean; busy: boolean; lastMs?: number; boxDims?: [number, number, number]; grown?: number }
}

export const editStore = createStore<EditState>(() => ({
  tool: 'navigate',
  brushRadiusMm: 6,
  brush3d: false,
  scissorsMode: 'erase-inside',
  scissorsThrough: false,
  thresholdHu: [50, 200],
  undoLabel: null,
  redoLabel: null,
  editCount: 0,
  notice: null,
  growBackground: false,
  grow: { seeds: 0, seedLabels: [], previewing: false, busy: false },
}))

export const BRUSH_MIN_MM = 1
export const BRUSH_MAX_MM = 60

export function stepBrush(direction: 1 | -1): void {
  const r = editStore.getState().brushRadiusMm
  // multiplicative steps feel even from 1 mm to 60 mm
  const next = direction > 0 ? Math.max(r + 1, Math.round(r * 1.25)) : Math.min(r - 1, Math.round(r / 1.25))
  editStore.setState({ brushRadiusMm: Math.min(BRUSH_MAX_MM, Math.max(BRUSH_MIN_MM, next)) })
}
