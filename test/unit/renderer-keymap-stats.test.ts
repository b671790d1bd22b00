/** The typed keymap and the incremental statistics math of the renderer. */
import { describe, expect, it } from 'vitest'
import { actionFor, conflicts, describeBinding, KEYMAP } from '../../src-renderer/keymap.js'
import { applyChange, figures, fullSums } from '../../src-renderer/stats/stats-math.js'

const key = (k: string, mods: Partial<{ ctrl: boolean; shift: boolean; alt: boolean }> = {}) => ({
  key: k,
  ctrlKey: !!mods.ctrl,
  metaKey: false,
  shiftKey: !!mods.shift,
  altKey: !!mods.alt,
})

describe('keymap', () => {
  it('has no two actions on the same key', () => {
    expect(conflicts()).toEqual([])
  })

  it('maps the documented shortcuts', () => {
    expect(actionFor(key('z', { ctrl: true }))).toBe('undo')
    expect(actionFor(key('Z', { ctrl: true, shift: true }))).toBe('redo')
    expect(actionFor(key('['))).toBe('brushSmaller')
    expect(actionFor(key(']'))).toBe('brushLarger')
    expect(actionFor(key('2'))).toBe('organ2')
    expect(actionFor(key('2', { alt: true }))).toBe('presetLiver')
    expect(actionFor(key('?', { shift: true }))).toBe('help')
    expect(actionFor(key('b'))).toBe('toolBrush')
    expect(actionFor(key('B', { shift: true }))).toBe('toolBrush')
    expect(actionFor(key('z'))).toBeNull()
    // macOS: Option+2 types '™' but the physical key is still Digit2
    expect(actionFor({ ...key('™', { alt: true }), code: 'Digit2' })).toBe('presetLiver')
  })

  it('describes bindings for the help overlay', () => {
    expect(describeBinding(KEYMAP.redo)).toBe('Ctrl+Shift+Z')
    expect(describeBinding(KEYMAP.presetLung)).toBe('Alt+4')
  })
})

describe('statistics', () => {
  const ct = Int16Array.from([10, 20, 30, 40, 50, 60, 70, 80])
  const labels = Uint8Array.from([1, 1, 1, 0, 2, 2, 0, 0])
  const pred = Uint8Array.from([1, 1, 0, 0, 2, 2, 2, 0])

  it('volume, mean and standard deviation of HU, Dice and added/removed against the prediction', () => {
    const s = fullSums(ct, labels, pred)
    const f1 = figures(s, 1, 2, true) // 2 mm³ voxels
    expect(f1.voxels).toBe(3)
    expect(f1.volumeMl).toBeCloseTo(0.006)
    expect(f1.meanHu).toBeCloseTo(20)
    expect(f1.stdHu).toBeCloseTo(Math.sqrt(200 / 3))
    expect(f1.added).toBe(1)
    expect(f1.removed).toBe(0)
    expect(f1.dice).toBeCloseTo((2 * 2) / (3 + 2))
    const f2 = figures(s, 2, 2, true)
    expect(f2.removed).toBe(1)
    expect(f2.dice).toBeCloseTo((2 * 2) / (2 + 3))
    expect(figures(s, 3, 2, true).meanHu).toBeNull()
  })

  it('incremental updates equal a full recomputation', () => {
    const s = fullSums(ct, labels, pred)
    const after = labels.slice()
    const indices = Uint32Array.from([2, 3, 6])
    const before = Uint8Array.from(indices, (i) => labels[i]!)
    const next = Uint8Array.from([0, 1, 2])
    indices.forEach((i, n) => (after[i] = next[n]!))
    applyChange(s, ct, pred, indices, before, next)
    const full = fullSums(ct, after, pred)
    for (const v of [0, 1, 2]) expect(figures(s, v, 1, true)).toEqual(figures(full, v, 1, true))
  })
})
