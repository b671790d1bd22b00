/** Framework-free editing logic of the renderer: patches, undo/redo, tool strategies, regions. */
import { describe, expect, it } from 'vitest'
import { countValue, gridFromArray, gridToArray, type Vec3 } from '../../src-renderer/editing/grid.js'
import { History, describePatch } from '../../src-renderer/editing/history.js'
import { PatchBuilder, applyPatch, diffPatch, patchMatches } from '../../src-renderer/editing/patch.js'
import { EditSession } from '../../src-renderer/editing/session.js'
import { newestWithin } from '../../src-renderer/editing/history-keeper.js'
import { editStore } from '../../src-renderer/store/edit-store.js'
import { floodFill, interpolateSlices, smallIslands } from '../../src-renderer/editing/regions.js'
import { circle, erase, huRange, outside, paint, plane, prism, rectangle, sphere, stamp, unlocked, wholeVolume } from '../../src-renderer/editing/strategies.js'

function grid(dims: Vec3 = [40, 30, 20], spacing: Vec3 = [1, 1, 2]) {
  return gridFromArray(dims, spacing, new Uint8Array(dims[0] * dims[1] * dims[2]))
}

function checksum(a: Uint8Array): number {
  let h = 2166136261
  for (const x of a) h = Math.imul(h ^ x, 16777619)
  return h >>> 0
}

describe('brush shapes', () => {
  it('an axial circle of radius 5 mm at 1 mm spacing paints the 81 lattice points within 5 mm', () => {
    const g = grid()
    const b = new PatchBuilder(g)
    stamp(g, circle([20, 15, 10], 5, g.spacing, 2), paint(1), [], b)
    // lattice points with a²+b² <= 25: 81
    expect(countValue(g, 1)).toBe(81)
    expect(b.build('Brush').slices).toEqual([10])
  })

  it('a circle on a sagittal plane honours anisotropic spacing (2 mm slices)', () => {
    const g = grid()
    stamp(g, circle([20, 15, 10], 4, g.spacing, 0), paint(1), [], new PatchBuilder(g))
    // plane i=20: points (dj, dk) with dj² + (2dk)² <= 16
    let expected = 0
    for (let dj = -4; dj <= 4; dj++) for (let dk = -2; dk <= 2; dk++) if (dj * dj + 4 * dk * dk <= 16) expected++
    expect(countValue(g, 1)).toBe(expected)
  })

  it('a sphere paints the lattice points inside it', () => {
    const g = grid([30, 30, 30], [1, 1, 1])
    stamp(g, sphere([15, 15, 15], 3, g.spacing), paint(2), [], new PatchBuilder(g))
    let expected = 0
    for (let a = -3; a <= 3; a++) for (let b = -3; b <= 3; b++) for (let c = -3; c <= 3; c++) if (a * a + b * b + c * c <= 9) expected++
    expect(countValue(g, 2)).toBe(expected)
  })

  it('shapes are clipped at the volume edge', () => {
    const g = grid()
    stamp(g, circle([0, 0, 0], 3, g.spacing, 2), paint(1), [], new PatchBuilder(g))
    // quarter disc incl. axes: points a,b >= 0 with a²+b² <= 9 → 11
    expect(countValue(g, 1)).toBe(11)
  })

  it('rectangle covers both corners inclusive', () => {
    const g = grid()
    stamp(g, rectangle([2, 3, 5], [6, 4, 5], 2), paint(3), [], new PatchBuilder(g))
    expect(countValue(g, 3)).toBe(5 * 2)
  })
})

describe('scissors outside the shape', () => {
  it('outside a rectangle is the rest of its slice; other slices keep their labels', () => {
    const g = grid()
    stamp(g, wholeVolume(), paint(2), [], new PatchBuilder(g)) // kidney everywhere
    const b = new PatchBuilder(g)
    stamp(g, outside(rectangle([5, 5, 7], [14, 9, 7], 2), plane(2, 7)), paint(1), [], b)
    expect(countValue(g, 1)).toBe(40 * 30 - 10 * 5)
    expect(b.build('x').slices).toEqual([7])
    expect(g.slices[7]![5 + 40 * 5]).toBe(2)
    expect(g.slices[6]!.every((v) => v === 2)).toBe(true)
  })

  it('through the volume: a rectangle drawn on a sagittal slice cuts every sagittal slice; outside it, the rest of the volume', () => {
    const g = grid()
    stamp(g, wholeVolume(), paint(1), [], new PatchBuilder(g))
    // drawn on sagittal slice i = 12 (normal axis 0): j 5..14, k 3..8 -> a 10x6 footprint
    const cut = new PatchBuilder(g)
    stamp(g, prism(rectangle([12, 5, 3], [12, 14, 8], 0), 0), erase(1), [], cut)
    expect(countValue(g, 0)).toBe(40 * 10 * 6)
    for (const i of [0, 12, 39]) expect(g.slices[5]![i + 40 * 9]).toBe(0)
    expect(g.slices[2]![20 + 40 * 9]).toBe(1) // k 2 is outside the footprint on every slice
    const h = grid()
    stamp(h, wholeVolume(), paint(1), [], new PatchBuilder(h))
    stamp(h, outside(prism(circle([20, 15, 10], 4, h.spacing, 2), 2), wholeVolume()), erase(1), [], new PatchBuilder(h))
    let disc = 0
    for (let j = 0; j < 30; j++) for (let i = 0; i < 40; i++) if ((i - 20) ** 2 + (j - 15) ** 2 <= 16) disc++
    expect(countValue(h, 1)).toBe(disc * 20) // the cylinder through all 20 axial slices
  })

  it('erase outside a sphere clears the active organ in the whole volume outside the ball only', () => {
    const g = grid()
    stamp(g, wholeVolume(), paint(1), [], new PatchBuilder(g))
    let ball = 0
    const c: Vec3 = [20, 15, 10]
    for (let k = 0; k < 20; k++) for (let j = 0; j < 30; j++) for (let i = 0; i < 40; i++) if ((i - c[0]) ** 2 + (j - c[1]) ** 2 + ((k - c[2]) * 2) ** 2 <= 36) ball++
    stamp(g, outside(sphere(c, 6, g.spacing), wholeVolume()), erase(1), [], new PatchBuilder(g))
    expect(countValue(g, 1)).toBe(ball)
    expect(countValue(g, 0)).toBe(40 * 30 * 20 - ball)
  })
})

describe('guards and operations', () => {
  it('locked organs are never overwritten and the eraser only erases the active organ', () => {
    const g = grid()
    stamp(g, rectangle([0, 0, 0], [9, 9, 0], 2), paint(2), [], new PatchBuilder(g))
    stamp(g, circle([5, 5, 0], 20, g.spacing, 2), paint(1), [unlocked(new Set([2]))], new PatchBuilder(g))
    expect(countValue(g, 2)).toBe(100)
    stamp(g, circle([5, 5, 0], 20, g.spacing, 2), erase(1), [], new PatchBuilder(g))
    expect(countValue(g, 1)).toBe(0)
    expect(countValue(g, 2)).toBe(100)
  })

  it('the threshold brush paints only voxels inside the HU range', () => {
    const dims: Vec3 = [10, 10, 1]
    const g = grid(dims, [1, 1, 1])
    const ct = new Int16Array(100).map((_, i) => (i % 2 === 0 ? 100 : -100))
    stamp(g, rectangle([0, 0, 0], [9, 9, 0], 2), paint(1), [huRange({ dims, data: ct }, 50, 150)], new PatchBuilder(g))
    expect(countValue(g, 1)).toBe(50)
  })
})

describe('patches and history', () => {
  it('undo restores the labelmap bit-for-bit and redo re-applies it, through many strokes', () => {
    const g = grid()
    const h = new History()
    const snapshots = [checksum(gridToArray(g))]
    let seed = 1
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32)
    for (let s = 0; s < 30; s++) {
      const b = new PatchBuilder(g)
      const value = 1 + Math.floor(rnd() * 4)
      // a stroke of several overlapping dabs, sometimes switching value (voxels written twice)
      for (let d = 0; d < 5; d++) stamp(g, circle([rnd() * 40, rnd() * 30, Math.floor(rnd() * 20)], 2 + rnd() * 6, g.spacing, 2), paint(d === 3 ? (value % 4) + 1 : value), [], b)
      h.push(b.build(`stroke ${s}`))
      snapshots.push(checksum(gridToArray(g)))
    }
    for (let s = 29; s >= 0; s--) {
      h.undo(g)
      expect(checksum(gridToArray(g))).toBe(snapshots[s])
    }
    expect(h.undo(g)).toBeNull()
    for (let s = 1; s <= 30; s++) {
      h.redo(g)
      expect(checksum(gridToArray(g))).toBe(snapshots[s])
    }
  })

  it('an undo onto labels that no longer hold its result is refused, the history dropped and the labels untouched', () => {
    const g = grid()
    const h = new History()
    const b = new PatchBuilder(g)
    stamp(g, circle([20, 15, 10], 4, g.spacing, 2), paint(1), [], b)
    const p = b.build('Brush liver')
    h.push(p)
    expect(patchMatches(g, p, 'after')).toBe(true)
    // the labels change behind the history's back (e.g. replaced while the history was kept elsewhere)
    applyPatch(g, p, 'undo')
    stamp(g, circle([20, 15, 10], 2, g.spacing, 2), paint(3), [], new PatchBuilder(g))
    const before = checksum(gridToArray(g))
    expect(h.undo(g)).toBe('stale')
    expect(checksum(gridToArray(g))).toBe(before)
    expect(h.depth).toEqual({ undo: 0, redo: 0, bytes: 0 })
  })

  it('a history taken out (snapshot) and put back (restore) undoes and redoes as before', () => {
    const g = grid()
    const h = new History()
    const sums = [checksum(gridToArray(g))]
    for (const [v, r] of [[1, 5], [2, 3], [1, 2]] as const) {
      const b = new PatchBuilder(g)
      stamp(g, circle([18 + v, 15, 10], r, g.spacing, 2), paint(v), [], b)
      h.push(b.build(`Brush ${v}`))
      sums.push(checksum(gridToArray(g)))
    }
    h.undo(g)
    const { done, undone } = h.snapshot()
    const again = new History()
    again.restore([...done], [...undone])
    expect(again.depth).toEqual(h.depth)
    expect(again.redo(g)).not.toBe('stale')
    expect(checksum(gridToArray(g))).toBe(sums[3])
    again.undo(g)
    again.undo(g)
    again.undo(g)
    expect(checksum(gridToArray(g))).toBe(sums[0])
  })

  it('a session adopts a kept history only when its labelmap holds the newest entry (and can redo the next)', () => {
    const dims: Vec3 = [40, 30, 20]
    const ct = { dims, data: new Int16Array(40 * 30 * 20) }
    const g = grid(dims)
    const first = new EditSession(g, ct)
    const b = new PatchBuilder(g)
    stamp(g, circle([20, 15, 10], 4, g.spacing, 2), paint(2), [], b)
    first.commit(b.build('Brush kidney'))
    const kept = first.history.snapshot()
    // the same labels reopened (the autosave had them): adopted, and Undo names the stroke
    const reopened = new EditSession(gridFromArray(dims, g.spacing, gridToArray(g)), ct)
    expect(reopened.adoptHistory([...kept.done], [...kept.undone])).toBe(true)
    expect(editStore.getState().undoLabel).toMatch(/^Brush kidney \(\d+ voxels\)$/)
    expect(reopened.undo()).not.toBeNull()
    expect(countValue(reopened.grid, 2)).toBe(0)
    // labels without the stroke (it never reached the host): refused, nothing written
    const older = new EditSession(grid(dims), ct)
    expect(older.adoptHistory([...kept.done], [...kept.undone])).toBe(false)
    expect(older.history.depth.undo).toBe(0)
    expect(countValue(older.grid, 2)).toBe(0)
  })

  it('the kept part of a stack is its newest entries that fit the budget', () => {
    const mk = (n: number) => ({ name: String(n), indices: new Uint32Array(n), before: new Uint8Array(n), after: new Uint8Array(n), slices: [] })
    const stack = [mk(10), mk(1000), mk(20), mk(30)]
    // 6 bytes per voxel: 180 + 120 fit in 400, the 6000 below them does not (nor anything under it)
    expect(newestWithin(stack, 400).kept.map((p) => p.name)).toEqual(['20', '30'])
    expect(newestWithin(stack, 400).bytes).toBe(300)
    expect(newestWithin(stack, 1e9).kept.length).toBe(4)
  })

  it('a new edit clears the redo branch; names say what undo will undo', () => {
    const g = grid()
    const h = new History()
    const b1 = new PatchBuilder(g)
    stamp(g, circle([10, 10, 3], 3, g.spacing, 2), paint(1), [], b1)
    h.push(b1.build('Brush liver'))
    expect(describePatch(h.nextUndo!)).toBe('Brush liver (29 voxels)')
    h.undo(g)
    expect(h.nextRedo?.name).toBe('Brush liver')
    const b2 = new PatchBuilder(g)
    stamp(g, circle([10, 10, 3], 1, g.spacing, 2), paint(2), [], b2)
    h.push(b2.build('Brush kidney'))
    expect(h.nextRedo).toBeNull()
    expect(h.nextUndo?.name).toBe('Brush kidney')
  })

  it('applying a prediction is one patch that undo reverts exactly, keeping locked organs', () => {
    const g = grid()
    stamp(g, rectangle([0, 0, 0], [4, 4, 0], 2), paint(3), [], new PatchBuilder(g))
    const before = gridToArray(g)
    const target = new Uint8Array(before.length).fill(1)
    const p = diffPatch(g, target, 'Apply prediction', new Set([3]))
    expect(countValue(g, 3)).toBe(25)
    expect(countValue(g, 1)).toBe(before.length - 25)
    applyPatch(g, p, 'undo')
    expect(gridToArray(g)).toEqual(before)
  })

  it('history is bounded by memory: the oldest entries fall off', () => {
    const g = grid()
    const h = new History(2000)
    for (let s = 0; s < 10; s++) {
      const b = new PatchBuilder(g)
      stamp(g, rectangle([0, 0, s], [9, 9, s], 2), paint(1), [], b) // 100 voxels = 600 bytes
      h.push(b.build(`s${s}`))
    }
    expect(h.depth.undo).toBe(3)
    expect(h.depth.bytes).toBeLessThanOrEqual(2000)
  })
})

describe('regions', () => {
  it('flood fill stays inside the clicked region on the plane', () => {
    const g = grid([20, 20, 3], [1, 1, 1])
    // a ring of 2 on slice 1 encloses a 6x6 hole
    stamp(g, rectangle([5, 5, 1], [12, 12, 1], 2), paint(2), [], new PatchBuilder(g))
    stamp(g, rectangle([6, 6, 1], [11, 11, 1], 2), erase(2), [], new PatchBuilder(g))
    const inside = floodFill(g, [8, 8, 1], 2)
    expect(inside.length).toBe(36)
    const outside = floodFill(g, [0, 0, 1], 2)
    expect(outside.length).toBe(400 - 64)
    // 3-D: the hole connects through slices 0 and 2 to everything but the 28-voxel ring
    expect(floodFill(g, [8, 8, 1], 2, true).length).toBe(400 * 3 - 28)
  })

  it('interpolation fills the slices between two drawn discs', () => {
    const g = grid([40, 40, 11], [1, 1, 1])
    stamp(g, circle([20, 20, 0], 6, g.spacing, 2), paint(1), [], new PatchBuilder(g))
    stamp(g, circle([20, 20, 10], 6, g.spacing, 2), paint(1), [], new PatchBuilder(g))
    const { voxels, gaps } = interpolateSlices(g, 1, 2)
    expect(gaps).toBe(1)
    // 9 in-between slices of (roughly) the same disc
    const disc = countValue(g, 1) / 2
    expect(voxels.length).toBeGreaterThan(9 * disc * 0.85)
    expect(voxels.length).toBeLessThan(9 * disc * 1.15)
  })

  it('small islands are found; the largest component stays', () => {
    const g = grid([30, 30, 10], [1, 1, 1])
    stamp(g, sphere([10, 10, 5], 4, g.spacing), paint(1), [], new PatchBuilder(g))
    stamp(g, rectangle([25, 25, 2], [25, 26, 2], 2), paint(1), [], new PatchBuilder(g))
    stamp(g, rectangle([2, 25, 8], [2, 25, 8], 2), paint(1), [], new PatchBuilder(g))
    const r = smallIslands(g, 1)
    expect(r.islands).toBe(2)
    expect(r.voxels.length).toBe(3)
  })
})
