/**
 * Every keyboard shortcut of the app, in ONE typed table (`satisfies Record<Action, Binding>`):
 * the key handler and the help overlay (`?`) both read it, so they cannot disagree.
 */
export type Action =
  | 'undo'
  | 'redo'
  | 'redoAlt'
  | 'toolNavigate'
  | 'toolBrush'
  | 'toolEraser'
  | 'toolThreshold'
  | 'toolScissorsCircle'
  | 'toolScissorsRectangle'
  | 'toolScissorsSphere'
  | 'toolFill'
  | 'toolGrowFromSeeds'
  | 'growPreview'
  | 'growAccept'
  | 'brushSmaller'
  | 'brushLarger'
  | 'brush3d'
  | 'interpolate'
  | 'removeIslands'
  | 'organ1'
  | 'organ2'
  | 'organ3'
  | 'organ4'
  | 'organ5'
  | 'organ6'
  | 'organ7'
  | 'organ8'
  | 'organ9'
  | 'toggleActiveVisible'
  | 'toggleActiveLocked'
  | 'toggleOutline'
  | 'presetAbdomen'
  | 'presetLiver'
  | 'presetBone'
  | 'presetLung'
  | 'slicePrev'
  | 'slicePrevAlt'
  | 'slicePrevPage'
  | 'sliceNext'
  | 'sliceNextAlt'
  | 'sliceNextPage'
  | 'segment'
  | 'help'

export interface Binding {
  /** KeyboardEvent.key, compared case-insensitively */
  key: string
  ctrl?: boolean
  /** undefined: either; true/false: must match */
  shift?: boolean
  alt?: boolean
  /** what the help overlay says */
  label: string
  group: 'Edit' | 'Tools' | 'Organs' | 'View' | 'Model' | 'Help'
}

export const KEYMAP = {
  undo: { key: 'z', ctrl: true, shift: false, label: 'Undo (names what it undoes)', group: 'Edit' },
  redo: { key: 'z', ctrl: true, shift: true, label: 'Redo', group: 'Edit' },
  redoAlt: { key: 'y', ctrl: true, label: 'Redo', group: 'Edit' },
  toolNavigate: { key: 'Escape', label: 'Navigate (crosshairs); cancel tool', group: 'Tools' },
  toolBrush: { key: 'b', label: 'Brush', group: 'Tools' },
  toolEraser: { key: 'e', label: 'Eraser', group: 'Tools' },
  toolThreshold: { key: 't', label: 'Threshold brush (HU range)', group: 'Tools' },
  toolScissorsCircle: { key: 'c', label: 'Scissors: circle', group: 'Tools' },
  toolScissorsRectangle: { key: 'r', label: 'Scissors: rectangle', group: 'Tools' },
  toolScissorsSphere: { key: 's', label: 'Scissors: sphere', group: 'Tools' },
  toolFill: { key: 'f', label: 'Flood fill', group: 'Tools' },
  toolGrowFromSeeds: { key: 'g', label: 'Grow from seeds (strokes paint seeds)', group: 'Tools' },
  growPreview: { key: 'p', label: 'Grow from seeds: preview (again after more seeds)', group: 'Tools' },
  growAccept: { key: 'Enter', label: 'Grow from seeds: accept the preview', group: 'Tools' },
  brushSmaller: { key: '[', label: 'Brush smaller', group: 'Tools' },
  brushLarger: { key: ']', label: 'Brush larger', group: 'Tools' },
  brush3d: { key: 'd', label: 'Brush: circle / sphere (3D)', group: 'Tools' },
  interpolate: { key: 'i', label: 'Interpolate between drawn slices', group: 'Edit' },
  removeIslands: { key: 'k', label: 'Remove small islands', group: 'Edit' },
  organ1: { key: '1', alt: false, label: 'Active label: row 1 of the list', group: 'Organs' },
  organ2: { key: '2', alt: false, label: 'Active label: row 2 of the list', group: 'Organs' },
  organ3: { key: '3', alt: false, label: 'Active label: row 3 of the list', group: 'Organs' },
  organ4: { key: '4', alt: false, label: 'Active label: row 4 of the list', group: 'Organs' },
  organ5: { key: '5', alt: false, label: 'Active label: row 5 of the list', group: 'Organs' },
  organ6: { key: '6', alt: false, label: 'Active label: row 6 of the list', group: 'Organs' },
  organ7: { key: '7', alt: false, label: 'Active label: row 7 of the list', group: 'Organs' },
  organ8: { key: '8', alt: false, label: 'Active label: row 8 of the list', group: 'Organs' },
  organ9: { key: '9', alt: false, label: 'Active label: row 9 of the list', group: 'Organs' },
  toggleActiveVisible: { key: 'h', label: 'Show / hide active organ', group: 'Organs' },
  toggleActiveLocked: { key: 'l', label: 'Lock / unlock active organ', group: 'Organs' },
  toggleOutline: { key: 'o', label: 'Overlay: fill / outline', group: 'View' },
  presetAbdomen: { key: '1', alt: true, label: 'Window: abdomen W400/L40', group: 'View' },
  presetLiver: { key: '2', alt: true, label: 'Window: liver W150/L90', group: 'View' },
  presetBone: { key: '3', alt: true, label: 'Window: bone W1800/L400', group: 'View' },
  presetLung: { key: '4', alt: true, label: 'Window: lung W1500/L-600', group: 'View' },
  // the view the pointer was last over; the same direction as the mouse wheel
  slicePrev: { key: 'ArrowUp', label: 'Previous slice', group: 'View' },
  slicePrevAlt: { key: 'ArrowLeft', label: 'Previous slice', group: 'View' },
  slicePrevPage: { key: 'PageUp', label: 'Previous slice', group: 'View' },
  sliceNext: { key: 'ArrowDown', label: 'Next slice', group: 'View' },
  sliceNextAlt: { key: 'ArrowRight', label: 'Next slice', group: 'View' },
  sliceNextPage: { key: 'PageDown', label: 'Next slice', group: 'View' },
  segment: { key: 'Enter', ctrl: true, label: 'Run segmentation', group: 'Model' },
  help: { key: '?', label: 'Show / hide this help', group: 'Help' },
} as const satisfies Record<Action, Binding>

export interface KeyLike {
  key: string
  /** physical key ('Digit2'): Alt+digit on macOS types a symbol into `key` */
  code?: string
  ctrlKey: boolean
  metaKey: boolean
  shiftKey: boolean
  altKey: boolean
}

export function matches(b: Binding, e: KeyLike): boolean {
  const digitByCode = b.alt && /^\d$/.test(b.key) && e.code === `Digit${b.key}`
  if (e.key.toLowerCase() !== b.key.toLowerCase() && !digitByCode) return false
  if ((e.ctrlKey || e.metaKey) !== (b.ctrl ?? false)) return false
  if (e.altKey !== (b.alt ?? false)) return false
  if (b.shift !== undefined && e.shiftKey !== b.shift) return false
  return true
}

/** The action a key press means, or null. More specific bindings (with modifiers) win. */
export function actionFor(e: KeyLike): Action | null {
  let best: Action | null = null
  let bestScore = -1
  for (const [action, b] of Object.entries(KEYMAP) as [Action, Binding][]) {
    if (!matches(b, e)) continue
    const score = (b.ctrl ? 1 : 0) + (b.shift !== undefined ? 1 : 0) + (b.alt ? 1 : 0)
    if (score > bestScore) {
      best = action
      bestScore = score
    }
  }
  return best
}

/** "Ctrl+Shift+Z" */
export function describeBinding(b: Binding): string {
  const parts: string[] = []
  if (b.ctrl) parts.push('Ctrl')
  if (b.alt) parts.push('Alt')
  if (b.shift) parts.push('Shift')
  parts.push(b.key.length === 1 ? b.key.toUpperCase() : b.key)
  return parts.join('+')
}

/** Two actions must never share a key: checked by the unit tests. */
export function conflicts(): [Action, Action][] {
  const entries = Object.entries(KEYMAP) as [Action, Binding][]
  const out: [Action, Action][] = []
  for (let a = 0; a < entries.length; a++)
    for (let b = a + 1; b < entries.length; b++) {
      const x = entries[a]![1], y = entries[b]![1]
      const shiftOverlap = x.shift === undefined || y.shift === undefined || x.shift === y.shift
      if (x.key.toLowerCase() === y.key.toLowerCase() && (x.ctrl ?? false) === (y.ctrl ?? false) && (x.alt ?? false) === (y.alt ?? false) && shiftOverlap) out.push([entries[a]![0], entries[b]![0]])
    }
  return out
}
