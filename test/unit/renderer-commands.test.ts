/**
 * The renderer's one command registry: keys, toolbar buttons and the test hook name commands, the
 * registry runs them. Real controllers and stores, no volume open (so no Cornerstone viewer).
 */
import { beforeEach, describe, expect, it } from 'vitest'
import { DemoClient } from '../../src-renderer/api/demo.js'
import { appCommands, TOOL_COMMAND, TOOLBAR } from '../../src-renderer/app/app-commands.js'
import { CommandRegistry, UnknownCommand } from '../../src-renderer/app/commands.js'
import { EditingController } from '../../src-renderer/editing/editing-controller.js'
import { gridFromArray } from '../../src-renderer/editing/grid.js'
import { PatchBuilder } from '../../src-renderer/editing/patch.js'
import { EditSession } from '../../src-renderer/editing/session.js'
import { KEYMAP, type Action } from '../../src-renderer/keymap.js'
import { TOOL_NAMES } from '../../src-renderer/names.js'
import { SegmentationController } from '../../src-renderer/segmentation/segmentation-controller.js'
import { editStore } from '../../src-renderer/store/edit-store.js'
import { labelsStore } from '../../src-renderer/store/labels-store.js'
import { segmentStore } from '../../src-renderer/store/segment-store.js'
import { viewerStore } from '../../src-renderer/store/viewer-store.js'
import type { Viewer } from '../../src-renderer/viewer/viewer.js'

const key = (k: string, mods: { ctrl?: boolean; shift?: boolean; alt?: boolean; code?: string } = {}) => ({
  key: k,
  code: mods.code,
  ctrlKey: !!mods.ctrl,
  metaKey: false,
  shiftKey: !!mods.shift,
  altKey: !!mods.alt,
})

function setup() {
  // no volume is opened here, so the editing controller never touches its viewer or view elements
  const editing = new EditingController(undefined as unknown as Viewer, { viewports: {} as never, overlays: {} as never })
  const segmentation = new SegmentationController(new DemoClient(), editing, () => null)
  const commands = new CommandRegistry()
  const steps: number[] = []
  commands.registerAll(appCommands({ editing, segmentation, stepSlice: (d) => void steps.push(d) }))
  return { commands, editing, steps }
}

describe('command registry', () => {
  beforeEach(() => {
    editStore.setState({ tool: 'navigate', brush3d: false })
    viewerStore.setState({ help: false, preset: 'abdomen' })
  })

  it('a key and the toolbar button for the same action run the same command', () => {
    const { commands } = setup()
    expect(commands.forKey(key('b'))).toBe('toolBrush')
    expect(TOOLBAR['tool-brush']).toBe('toolBrush')
    commands.runKey(key('b'))
    expect(editStore.getState().tool).toBe('brush')
    commands.run(TOOLBAR['tool-navigate']!)
    expect(editStore.getState().tool).toBe('navigate')
    // Ctrl+Shift+Z and Ctrl+Y are both the Redo button's command
    expect(commands.forKey(key('z', { ctrl: true, shift: true }))).toBe(TOOLBAR.redo)
    expect(commands.forKey(key('y', { ctrl: true }))).toBe(TOOLBAR.redo)
    expect(commands.forKey(key('z', { ctrl: true }))).toBe(TOOLBAR.undo)
    // Alt+2 (on macOS only its code says "2") and the liver preset button
    expect(commands.forKey(key('™', { alt: true, code: 'Digit2' }))).toBe(TOOLBAR['preset-liver'])
    commands.runKey(key('2', { alt: true }))
    expect(viewerStore.getState().preset).toBe('liver')
    expect(commands.forKey(key('?'))).toBe(TOOLBAR.help)
    commands.run(TOOLBAR.help!)
    expect(viewerStore.getState().help).toBe(true)
  })

  it('every toolbar button and every tool name names a registered command; every key runs one', () => {
    const { commands } = setup()
    for (const [button, id] of Object.entries(TOOLBAR)) expect(commands.has(id), `${button} -> ${id}`).toBe(true)
    for (const t of TOOL_NAMES) expect(commands.has(TOOL_COMMAND[t])).toBe(true)
    expect(commands.unboundActions(Object.keys(KEYMAP) as Action[])).toEqual([])
  })

  it('arrows and PageUp/PageDown step slices one at a time, the way the wheel does', () => {
    const { commands, steps } = setup()
    for (const k of ['ArrowUp', 'ArrowLeft', 'PageUp', 'ArrowDown', 'ArrowRight', 'PageDown']) expect(commands.runKey(key(k)), k).toBe(true)
    expect(steps).toEqual([-1, -1, -1, 1, 1, 1])
    // with Ctrl they are not slice keys
    expect(commands.forKey(key('ArrowUp', { ctrl: true }))).toBe(null)
  })

  it('an unknown command id is an error, not a silent no-op', () => {
    const { commands } = setup()
    expect(() => commands.run('toolLasso')).toThrow(UnknownCommand)
    expect(() => commands.run('toolLasso')).toThrow(/no command "toolLasso"/)
  })

  it('registering an id or a key twice is refused', () => {
    const commands = new CommandRegistry()
    commands.register({ id: 'a', label: 'A', keybinding: 'help', run: () => {} })
    expect(() => commands.register({ id: 'a', label: 'A again', run: () => {} })).toThrow(/registered twice/)
    expect(() => commands.register({ id: 'b', label: 'B', keybinding: 'help', run: () => {} })).toThrow(/bound to both "a" and "b"/)
  })

  it('undo by key and by button undo the same edit; the organ command takes a value', () => {
    const { commands, editing } = setup()
    const grid = gridFromArray([4, 4, 2], [1, 1, 1], new Uint8Array(4 * 4 * 2))
    const session = new EditSession(grid, { dims: [4, 4, 2], data: new Int16Array(32) })
    editing.session = session
    const paint = (v: number) => {
      const b = new PatchBuilder(grid)
      b.write(0, 5, v)
      session.commit(b.build(`paint ${v}`))
    }
    paint(1)
    paint(2)
    commands.runKey(key('z', { ctrl: true }))
    expect(grid.slices[0]![5]).toBe(1)
    commands.run(TOOLBAR.undo!)
    expect(grid.slices[0]![5]).toBe(0)
    commands.runKey(key('y', { ctrl: true }))
    expect(grid.slices[0]![5]).toBe(1)
    commands.run('setActiveOrgan', 3)
    expect(labelsStore.getState().activeValue).toBe(3)
    commands.runKey(key('2'))
    expect(labelsStore.getState().activeValue).toBe(2)
  })

  it('Segment without an open CT says so, by key and by button alike', () => {
    const { commands } = setup()
    segmentStore.setState({ error: null })
    commands.runKey(key('Enter', { ctrl: true }))
    expect(segmentStore.getState().error).toMatch(/Open a CT first/)
    segmentStore.setState({ error: null })
    commands.run(TOOLBAR['run-segmentation']!)
    expect(segmentStore.getState().error).toMatch(/Open a CT first/)
  })

  it("opening another CT clears the last run's outcome: a cancel, a failure, its timing and warnings were about the previous CT", () => {
    const editing = new EditingController(undefined as unknown as Viewer, { viewports: {} as never, overlays: {} as never })
    const segmentation = new SegmentationController(new DemoClient(), editing, () => null)
    segmentStore.setState({ error: 'Segmentation cancelled.', lastRun: { model: 'scn-flare-organs 0.6.0', seconds: 4.2 }, warnings: ['The scan covers only 55 mm'], running: false })
    segmentation.opened({ caseId: 'other', name: 'other CT' } as never)
    const s = segmentStore.getState()
    expect(s.error).toBeNull()
    expect(s.lastRun).toBeNull()
    expect(s.warnings).toEqual([])
  })
})
