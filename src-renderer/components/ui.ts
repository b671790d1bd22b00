/** Small typed helpers shared by the .vue components (their script blocks stay thin). */
import { TOOL_COMMAND } from '../app/app-commands.js'
import { editStore, TOOL_NAMES, type ToolName } from '../store/edit-store.js'
import { exportStore } from '../store/export-store.js'
import { saveStore } from '../store/save-store.js'
import { labelsStore } from '../store/labels-store.js'
import { segmentStore } from '../store/segment-store.js'
import { statsStore } from '../store/stats-store.js'
import { viewerStore } from '../store/viewer-store.js'
import { useStore } from '../store/use-store.js'
import { KEYMAP, describeBinding, type Action, type Binding } from '../keymap.js'
import { WINDOW_PRESETS } from '../viewer/presets.js'
import type { OrganReview } from '../api/types.js'

export { TOOL_NAMES, WINDOW_PRESETS }

export const TOOL_LABELS: Record<ToolName, string> = {
  navigate: 'Navigate',
  brush: 'Brush',
  eraser: 'Eraser',
  threshold: 'Threshold',
  'scissors-circle': 'Scissors ○',
  'scissors-rectangle': 'Scissors ▭',
  'scissors-sphere': 'Scissors ◍',
  fill: 'Fill',
  'grow-from-seeds': 'Grow from seeds',
}

export function shortcut(action: Action): string {
  return describeBinding(KEYMAP[action] as Binding)
}

export function toolShortcut(t: ToolName): string {
  return shortcut(TOOL_COMMAND[t])
}

export function useEdit() {
  return useStore(editStore, (s) => s)
}
export function useLabels() {
  return useStore(labelsStore, (s) => s)
}
export function useSegment() {
  return useStore(segmentStore, (s) => s)
}
export function useStats() {
  return useStore(statsStore, (s) => s)
}
export function useViewer() {
  return useStore(viewerStore, (s) => s)
}
export function useSave() {
  return useStore(saveStore, (s) => s)
}
export function useExport() {
  return useStore(exportStore, (s) => s)
}

export function helpGroups(): { group: string; rows: { keys: string; label: string }[] }[] {
  const groups = new Map<string, { keys: string; label: string }[]>()
  for (const b of Object.values(KEYMAP) as Binding[]) {
    const list = groups.get(b.group) ?? []
    list.push({ keys: describeBinding(b), label: b.label })
    groups.set(b.group, list)
  }
  return [...groups].map(([group, rows]) => ({ group, rows }))
}

export function fmt(n: number | null | undefined, digits = 1): string {
  return n === null || n === undefined || !Number.isFinite(n) ? '–' : n.toFixed(digits)
}

export function rgb(c: readonly number[]): string {
  return `rgb(${c[0]}, ${c[1]}, ${c[2]})`
}

/** Tooltip of an organ's review state: who, when, why. */
export function reviewTitle(o: OrganReview): string {
  const who = o.reviewer ? ` by ${o.reviewer}` : ''
  const when = o.at ? ` at ${new Date(o.at).toLocaleString()}` : ''
  const parts = [`${o.state}${who}${when}`]
  if (o.comment) parts.push(`"${o.comment}"`)
  if (o.note) parts.push(o.note)
  return parts.join(' — ')
}

/**
 * An export's files as listed under the Export button: a folder holding many of them (the CT series
 * of a new-study DICOM SEG) is one line, so the list stays readable. `path` is the file or folder.
 */
export function exportedLines(files: readonly string[]): { path: string; text: string }[] {
  const dirOf = (f: string) => f.slice(0, Math.max(f.lastIndexOf('/'), f.lastIndexOf('\\')))
  const perDir = new Map<string, number>()
  for (const f of files) perDir.set(dirOf(f), (perDir.get(dirOf(f)) ?? 0) + 1)
  const out: { path: string; text: string }[] = []
  const listed = new Set<string>()
  for (const f of files) {
    const d = dirOf(f)
    const n = perDir.get(d)!
    if (n <= 4) out.push({ path: f, text: f })
    else if (!listed.has(d)) {
      listed.add(d)
      out.push({ path: d, text: `${d} (${n} files)` })
    }
  }
  return out
}
