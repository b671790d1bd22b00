/**
 * The workspace label table's pure functions (src-main/cases/label-table.ts): rename and recolour
 * keep values, names stay unique case-insensitive, retired values are never reused, the lesion
 * presets carry their SNOMED codes, lesions are told by their category.
 */
import { describe, expect, it } from 'vitest'
import {
  LabelTableError,
  LabelTableSchema,
  TEAM_COLORS,
  TEAM_PRESETS,
  addLabel,
  defaultLabelTable,
  isLesion,
  retireLabel,
  updateLabel,
  type LabelTable,
} from '../../src-main/cases/index.js'
import { LABEL_PRESET_NAMES } from '../../src-shared/contract/schemas.js'
import { FLARE_LABELS } from '../../src-shared/labels.js'

const AT = '2026-01-01T00:00:00.000Z'
const distance = (a: readonly number[], b: readonly number[]) => Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2])

function thrown(f: () => unknown): LabelTableError {
  try {
    f()
  } catch (e) {
    expect(e).toBeInstanceOf(LabelTableError)
    return e as LabelTableError
  }
  throw new Error('expected a LabelTableError')
}

describe('updateLabel', () => {
  const base = () => addLabel(defaultLabelTable(undefined, AT), TEAM_PRESETS[0], AT).table // 5 liver lesion, version 2

  it('renames and recolours without touching the value; bumps the version and writes a history line', () => {
    let t = updateLabel(base(), 5, { name: '  hepatic lesion ' }, AT)
    expect(t.version).toBe(3)
    expect(t.labels.find((l) => l.value === 5)).toMatchObject({ name: 'hepatic lesion', color: [255, 220, 0], snomed: { code: '52988006' }, anatomicRegion: { code: '10200004' } })
    expect(t.history.at(-1)).toEqual({ version: 3, at: AT, change: 'renamed 5 "liver lesion" to "hepatic lesion"' })
    t = updateLabel(t, 1, { color: [10, 20, 30] }, AT)
    expect(t.version).toBe(4)
    expect(t.labels.map((l) => l.value)).toEqual([1, 2, 3, 4, 5])
    expect(t.labels[0]).toMatchObject({ value: 1, name: 'liver', color: [10, 20, 30], source: 'model' })
    expect(t.history.at(-1)!.change).toBe('recoloured 1 liver from 221,130,101 to 10,20,30')
    expect(t.history.length).toBe(t.version)
    expect(LabelTableSchema.safeParse(JSON.parse(JSON.stringify(t))).success).toBe(true)
  })

  it('changes nothing (same table, same version) when the name and colour are what they were', () => {
    const t = base()
    expect(updateLabel(t, 5, { name: 'liver lesion', color: [255, 220, 0] }, AT)).toBe(t)
    // a change of case only is a rename
    expect(updateLabel(t, 5, { name: 'Liver Lesion' }, AT).labels[4].name).toBe('Liver Lesion')
  })

  it('refuses a name another label has, case-insensitive, retired labels included', () => {
    let t = addLabel(base(), { name: 'cyst' }, AT).table
    t = retireLabel(t, 6, AT)
    const clash = thrown(() => updateLabel(t, 5, { name: 'LIVER' }))
    expect(clash.code).toBe('invalid')
    expect(clash.message).toMatch(/already has "liver" \(value 1\); names must be unique/)
    expect(thrown(() => updateLabel(t, 5, { name: 'Cyst' })).message).toMatch(/"cyst" \(value 6, retired\)/)
    expect(thrown(() => addLabel(t, { name: 'CYST' })).message).toMatch(/value 6, retired/)
  })

  it('refuses empty, reserved, too long and control-character names, and unknown values', () => {
    const t = base()
    expect(thrown(() => updateLabel(t, 5, { name: '   ' })).message).toMatch(/needs a name/)
    expect(thrown(() => updateLabel(t, 5, { name: 'Background' })).message).toMatch(/nnU-Net/)
    expect(thrown(() => addLabel(t, { name: 'ignore' })).message).toMatch(/nnU-Net/)
    expect(thrown(() => updateLabel(t, 5, { name: 'x'.repeat(65) })).message).toMatch(/at most 64/)
    expect(thrown(() => updateLabel(t, 5, { name: 'a\\b' })).message).toMatch(/backslash/)
    expect(thrown(() => updateLabel(t, 5, { color: [0, 0, 256] })).message).toMatch(/0-255/)
    const missing = thrown(() => updateLabel(t, 9, { name: 'x' }))
    expect(missing.code).toBe('not-found')
    expect(missing.message).toMatch(/no value 9/)
    expect(thrown(() => retireLabel(t, 9)).code).toBe('not-found')
  })
})

describe('values are never reused', () => {
  it('a retired value stays reserved: later labels go above it, the retired name stays taken until renamed', () => {
    let t: LabelTable = defaultLabelTable(undefined, AT)
    t = addLabel(t, { name: 'cyst' }, AT).table // 5
    t = addLabel(t, { name: 'stone' }, AT).table // 6
    t = retireLabel(t, 6, AT)
    t = retireLabel(t, 5, AT)
    expect(retireLabel(t, 5, AT)).toBe(t) // retiring twice changes nothing
    const { table, added } = addLabel(t, { name: 'nodule' }, AT)
    expect(added.value).toBe(7)
    expect(table.labels.filter((l) => l.retired).map((l) => l.value)).toEqual([5, 6])
    // renaming a retired label frees its name
    const renamed = updateLabel(table, 6, { name: 'stone (old)' }, AT)
    expect(renamed.labels.find((l) => l.value === 6)).toMatchObject({ name: 'stone (old)', retired: true })
    expect(addLabel(renamed, { name: 'stone' }, AT).added.value).toBe(8)
  })

  it('says when the table is full (values 1-254)', () => {
    let t: LabelTable = defaultLabelTable(undefined, AT)
    for (let v = 5; v <= 254; v++) t = addLabel(t, { name: `class ${v}` }, AT).table
    expect(t.labels.at(-1)!.value).toBe(254)
    expect(thrown(() => addLabel(t, { name: 'one more' })).message).toMatch(/the label table is full \(values 1-254 are all used/)
  })
})

describe('team presets', () => {
  it('are the issue\'s five lesion classes, in the contract\'s order, with SNOMED codes', () => {
    expect(TEAM_PRESETS.map((p) => p.name)).toEqual([...LABEL_PRESET_NAMES])
    expect(TEAM_PRESETS.map((p) => p.name)).toEqual(['liver lesion', 'kidney lesion', 'pancreatic lesion', 'splenic lesion', 'other lesion'])
    for (const p of TEAM_PRESETS) {
      expect(p.snomed).toEqual({ code: '52988006', meaning: 'Lesion', scheme: 'SCT' })
      expect(p.category).toEqual({ code: '49755003', meaning: 'Morphologically Altered Structure', scheme: 'SCT' })
    }
    const regions = Object.fromEntries(TEAM_PRESETS.map((p) => [p.name, p.anatomicRegion?.code]))
    expect(regions).toEqual({ 'liver lesion': '10200004', 'kidney lesion': '64033007', 'pancreatic lesion': '15776009', 'splenic lesion': '78961009', 'other lesion': undefined })
  })

  it('all five add to one table as lesions; named classes are not lesions', () => {
    let t: LabelTable = defaultLabelTable(undefined, AT)
    for (const p of TEAM_PRESETS) t = addLabel(t, p, AT).table
    t = addLabel(t, { name: 'catheter' }, AT).table
    expect(t.labels.map((l) => [l.value, l.name, isLesion(l)])).toEqual([
      [1, 'liver', false],
      [2, 'kidney', false],
      [3, 'spleen', false],
      [4, 'pancreas', false],
      [5, 'liver lesion', true],
      [6, 'kidney lesion', true],
      [7, 'pancreatic lesion', true],
      [8, 'splenic lesion', true],
      [9, 'other lesion', true],
      [10, 'catheter', false],
    ])
    expect(t.labels.find((l) => l.name === 'splenic lesion')!.anatomicRegion).toEqual({ code: '78961009', meaning: 'Spleen', scheme: 'SCT' })
    expect(t.labels.find((l) => l.name === 'other lesion')!.anatomicRegion).toBeUndefined()
  })

  it('team colours are distinct from each other and do not resemble the organ colours', () => {
    const colors = [...TEAM_COLORS, ...TEAM_PRESETS.map((p) => p.color)]
    for (const c of colors) for (const o of FLARE_LABELS) expect(distance(c, o.color), `${c} vs ${o.name}`).toBeGreaterThan(100)
    for (let i = 0; i < TEAM_COLORS.length; i++) for (let j = i + 1; j < TEAM_COLORS.length; j++) expect(distance(TEAM_COLORS[i], TEAM_COLORS[j])).toBeGreaterThan(100)
    expect(new Set(TEAM_PRESETS.map((p) => p.color.join(','))).size).toBe(TEAM_PRESETS.length)
  })

  it('a class added by name takes a team colour no label in the palette shows, the presets\' last', () => {
    let t: LabelTable = defaultLabelTable(undefined, AT)
    const a = addLabel(t, { name: 'cyst' }, AT)
    expect(a.added.color).toEqual(TEAM_COLORS[5])
    t = updateLabel(a.table, a.added.value, { color: [1, 2, 3] }, AT)
    expect(addLabel(t, { name: 'stone' }, AT).added.color).toEqual(TEAM_COLORS[5]) // free again
    // a retired label's colour is free again too
    t = retireLabel(addLabel(t, { name: 'stone' }, AT).table, 6, AT)
    expect(addLabel(t, { name: 'nodule' }, AT).added.color).toEqual(TEAM_COLORS[5])
  })
})
