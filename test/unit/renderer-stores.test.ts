/** The renderer's zustand stores: plain data, bounded brush, label table rules. */
import { describe, expect, it } from 'vitest'
import { BRUSH_MAX_MM, BRUSH_MIN_MM, editStore, stepBrush } from '../../src-renderer/store/edit-store.js'
import { labelsStore, lockedValues, patchRow, rowsFrom, setActiveLabel, setLabelClasses } from '../../src-renderer/store/labels-store.js'
import { FLARE_LABELS } from '../../src-shared/labels.js'

describe('edit store', () => {
  it('brush size steps stay within bounds and always move by at least 1 mm', () => {
    editStore.setState({ brushRadiusMm: 6 })
    const seen = [6]
    for (let n = 0; n < 40; n++) {
      stepBrush(1)
      seen.push(editStore.getState().brushRadiusMm)
    }
    expect(Math.max(...seen)).toBe(BRUSH_MAX_MM)
    for (let n = 1; n < seen.length && seen[n]! < BRUSH_MAX_MM; n++) expect(seen[n]! - seen[n - 1]!).toBeGreaterThanOrEqual(1)
    for (let n = 0; n < 40; n++) stepBrush(-1)
    expect(editStore.getState().brushRadiusMm).toBe(BRUSH_MIN_MM)
  })
})

describe('labels store', () => {
  it('rows follow the label table sorted by value, with fixed values and colours', () => {
    const rows = rowsFrom([...FLARE_LABELS].reverse())
    expect(rows.map((r) => r.value)).toEqual([1, 2, 3, 4])
    expect(rows[0]!.color).toEqual([...FLARE_LABELS[0]!.color])
    expect(rows.every((r) => r.visible && !r.locked)).toBe(true)
  })

  it('workspace classes extend the table; the active organ survives when it still exists', () => {
    setLabelClasses(FLARE_LABELS)
    setActiveLabel(3)
    setLabelClasses([...FLARE_LABELS, { value: 10, name: 'lesion', color: [255, 0, 0], snomed: { code: '52988006', meaning: 'Lesion' } }])
    expect(labelsStore.getState().activeValue).toBe(3)
    expect(labelsStore.getState().rows.at(-1)!.name).toBe('lesion')
    setActiveLabel(99) // not in the table: ignored
    expect(labelsStore.getState().activeValue).toBe(3)
  })

  it('locks are per value and reported to the tools', () => {
    setLabelClasses(FLARE_LABELS)
    patchRow(2, { locked: true })
    patchRow(4, { locked: true, visible: false })
    expect([...lockedValues()].sort()).toEqual([2, 4])
    expect(labelsStore.getState().rows.find((r) => r.value === 4)!.visible).toBe(false)
  })
})
