/**
 * window.__scn for the e2e tests and the editing benchmark (test builds only). User actions go
 * through the command registry like a key or a button; the timing probes reach the editing
 * internals they measure.
 */
import { indexToWorld } from '../../src-shared/geometry.js'
import { countValue } from '../editing/grid.js'
import { PatchBuilder } from '../editing/patch.js'
import { editStore } from '../store/edit-store.js'
import { labelName, labelsStore, lockedValues } from '../store/labels-store.js'
import type { ScnTestApi } from '../test-api.js'
import { TOOL_COMMAND } from './app-commands.js'
import type { AppShell } from './shell.js'

export function testHook(app: AppShell): ScnTestApi {
  const { commands, editing } = app
  const viewer = app.viewer.viewer
  const session = () => editing.requireSession()
  const tools = () => {
    if (!editing.tools) throw new Error('no case is open')
    return editing.tools
  }
  const timed = (f: () => void): number => {
    const t0 = performance.now()
    f()
    return performance.now() - t0
  }
  return {
    countValue: (v) => (editing.session ? countValue(editing.session.grid, v) : -1),
    labelsChecksum() {
      let h = 2166136261
      for (const s of session().grid.slices) for (let x = 0; x < s.length; x++) h = Math.imul(h ^ s[x]!, 16777619)
      return h >>> 0
    },
    dims: () => editing.session?.grid.dims ?? null,
    labelAt: (ijk) => session().grid.slices[ijk[2]]?.[ijk[0] + session().grid.dims[0] * ijk[1]] ?? -1,
    ctAt: (ijk) => {
      const [nx, ny] = session().grid.dims
      return session().ct.data[ijk[0] + nx * (ijk[1] + ny * ijk[2])] ?? NaN
    },
    setBrush: (radiusMm, sphere) => editStore.setState({ brushRadiusMm: radiusMm, brush3d: sphere }),
    setTool: (tool) => commands.run(TOOL_COMMAND[tool]),
    dabAt(view, ijk, tool = 'brush') {
      const b = new PatchBuilder(session().grid)
      const t0 = performance.now()
      const normal = viewer.pick(view, 1, 1).normal
      const changed = tools().dab(b, ijk, normal, tool)
      session().commit(b.build(`${tool === 'eraser' ? 'Erase' : 'Brush'} ${labelName(labelsStore.getState().activeValue)}`))
      return { changed, ms: performance.now() - t0 }
    },
    timeUndo: () => timed(() => commands.run('undo')),
    timeRedo: () => timed(() => commands.run('redo')),
    timeToolSwitch: (tool) => timed(() => commands.run(TOOL_COMMAND[tool])),
    timeApplyLabels(target, name) {
      const t0 = performance.now()
      const p = session().applyLabels(target, name, lockedValues())
      return { ms: performance.now() - t0, voxels: p.indices.length }
    },
    timeRegion(kind, view, ijk) {
      const c = tools()
      const normal = viewer.pick(view, 1, 1).normal
      c.lastView = view
      const t0 = performance.now()
      const p = kind === 'interpolate' ? c.interpolate(normal) : kind === 'islands' ? c.removeIslands() : c.fillAt(ijk!, normal, kind === 'fill3d')
      return { ms: performance.now() - t0, voxels: p?.indices.length ?? 0 }
    },
    setActiveLabel: (value) => void commands.run('setActiveOrgan', value),
    async timeRender() {
      const t0 = performance.now()
      viewer.render()
      await new Promise<void>((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => resolve())))
      return performance.now() - t0
    },
    canvasOf(view, ijk) {
      const w = indexToWorld(viewer.geometry!, ijk)
      return viewer.viewport(view).worldToCanvas(w) as [number, number]
    },
    pickAt: (view, x, y) => viewer.pick(view, x, y).ijk,
    sliceIndex: (view) => viewer.viewport(view).getSliceIndex(),
    parallelScale: (view) => viewer.parallelScale(view),
    camera3d: () => viewer.camera3d(),
    keepHistoryNow: () => editing.keeper.flush(),
    historyDepth: () => {
      const d = editing.session?.history.depth
      return { undo: d?.undo ?? 0, redo: d?.redo ?? 0 }
    },
    dabTimes: () => editing.tools?.dabTimes.slice() ?? [],
  }
}
