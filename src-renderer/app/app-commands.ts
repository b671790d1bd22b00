/**
 * The app's commands: what every key of the keymap and every toolbar button does, each naming the
 * controller method it runs. The keymap, the toolbar (TOOLBAR below) and the test hook run these
 * by id through the one CommandRegistry.
 */
import type { EditingController } from '../editing/editing-controller.js'
import type { Action } from '../keymap.js'
import type { SegmentationController } from '../segmentation/segmentation-controller.js'
import { TOOL_NAMES, type ToolName } from '../store/edit-store.js'
import { setPreset, toggleHelp } from '../store/viewer-store.js'
import { WINDOW_PRESETS, type PresetName } from '../viewer/presets.js'
import type { Command } from './commands.js'

/** The command of each tool (and its key). */
export const TOOL_COMMAND = {
  navigate: 'toolNavigate',
  brush: 'toolBrush',
  eraser: 'toolEraser',
  threshold: 'toolThreshold',
  'scissors-circle': 'toolScissorsCircle',
  'scissors-rectangle': 'toolScissorsRectangle',
  'scissors-sphere': 'toolScissorsSphere',
  fill: 'toolFill',
  'grow-from-seeds': 'toolGrowFromSeeds',
} as const satisfies Record<ToolName, Action>

export const PRESET_COMMAND = {
  abdomen: 'presetAbdomen',
  liver: 'presetLiver',
  bone: 'presetBone',
  lung: 'presetLung',
} as const satisfies Record<PresetName, Action>

/** The command each toolbar button runs, by its data-testid. */
export const TOOLBAR = {
  'run-segmentation': 'segment',
  'cancel-segmentation': 'cancelSegment',
  ...Object.fromEntries(TOOL_NAMES.map((t) => [`tool-${t}`, TOOL_COMMAND[t]])),
  'brush-3d': 'brush3d',
  interpolate: 'interpolate',
  'remove-islands': 'removeIslands',
  'grow-preview': 'growPreview',
  'grow-accept': 'growAccept',
  'grow-cancel': 'growCancel',
  undo: 'undo',
  redo: 'redo',
  ...Object.fromEntries(Object.keys(WINDOW_PRESETS).map((p) => [`preset-${p}`, PRESET_COMMAND[p as PresetName]])),
  help: 'help',
} as Readonly<Record<string, string>>

export interface CommandTargets {
  editing: EditingController
  segmentation: Pick<SegmentationController, 'segment' | 'cancel'>
  /** steps the slices of the view the pointer was last over */
  stepSlice: (delta: number) => void
}

export function appCommands({ editing, segmentation, stepSlice }: CommandTargets): Command<never>[] {
  const cmds: Command<never>[] = []
  const add = <A = void>(c: Command<A>): void => void cmds.push(c as Command<never>)
  add({ id: 'undo', label: 'Undo', keybinding: 'undo', run: () => editing.undo() })
  add({ id: 'redo', label: 'Redo', keybinding: ['redo', 'redoAlt'], run: () => editing.redo() })
  for (const t of TOOL_NAMES) add({ id: TOOL_COMMAND[t], label: `Tool: ${t}`, keybinding: TOOL_COMMAND[t], run: () => editing.setTool(t) })
  add({ id: 'brushSmaller', label: 'Brush smaller', keybinding: 'brushSmaller', run: () => editing.stepBrush(-1) })
  add({ id: 'brushLarger', label: 'Brush larger', keybinding: 'brushLarger', run: () => editing.stepBrush(1) })
  add({ id: 'brush3d', label: 'Brush: circle / sphere', keybinding: 'brush3d', run: () => editing.toggleBrush3d() })
  add({ id: 'interpolate', label: 'Interpolate between drawn slices', keybinding: 'interpolate', run: () => editing.interpolate() })
  add({ id: 'removeIslands', label: 'Remove small islands', keybinding: 'removeIslands', run: () => editing.removeIslands() })
  add({ id: 'growPreview', label: 'Grow from seeds: preview', keybinding: 'growPreview', run: () => void editing.tools?.grow.runPreview() })
  add({ id: 'growAccept', label: 'Grow from seeds: accept', keybinding: 'growAccept', run: () => editing.tools?.grow.accept() })
  add({ id: 'growCancel', label: 'Grow from seeds: cancel', run: () => editing.tools?.grow.cancel() })
  for (let n = 1; n <= 9; n++) {
    const id = `organ${n}` as Action
    // the Nth row of the segment list (organs 1-4, then the team's labels in value order)
    add({ id, label: `Active label: row ${n}`, keybinding: id, run: () => editing.setActiveRow(n) })
  }
  add<number>({ id: 'setActiveOrgan', label: 'Active organ', run: (value) => editing.setActiveOrgan(value) })
  add({ id: 'toggleActiveVisible', label: 'Show / hide active organ', keybinding: 'toggleActiveVisible', run: () => editing.toggleActive('visible') })
  add({ id: 'toggleActiveLocked', label: 'Lock / unlock active organ', keybinding: 'toggleActiveLocked', run: () => editing.toggleActive('locked') })
  add({ id: 'toggleOutline', label: 'Overlay: fill / outline', keybinding: 'toggleOutline', run: () => editing.toggleOutline() })
  for (const p of Object.keys(PRESET_COMMAND) as PresetName[]) add({ id: PRESET_COMMAND[p], label: `Window: ${p}`, keybinding: PRESET_COMMAND[p], run: () => setPreset(p) })
  add({ id: 'slicePrev', label: 'Previous slice', keybinding: ['slicePrev', 'slicePrevAlt', 'slicePrevPage'], run: () => stepSlice(-1) })
  add({ id: 'sliceNext', label: 'Next slice', keybinding: ['sliceNext', 'sliceNextAlt', 'sliceNextPage'], run: () => stepSlice(1) })
  add({ id: 'segment', label: 'Run segmentation', keybinding: 'segment', run: () => void segmentation.segment() })
  add({ id: 'cancelSegment', label: 'Cancel segmentation', run: () => segmentation.cancel() })
  add({ id: 'help', label: 'Show / hide keyboard help', keybinding: 'help', run: () => toggleHelp() })
  return cmds
}
