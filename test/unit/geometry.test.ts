import { describe, expect, it } from 'vitest'
import {
  applyAffine, geometryFromAffine, indexToWorld, indexToWorldAffine, mat3Mul, orientationCode, rasAffine,
  rotationMatrix, worldToIndex, worldBounds, sameLatticeMap, copyOntoLattice,
} from '../../src-shared/geometry.js'
import { SEGMENT_STAGES, segmentStageLabel } from '../../src-shared/segment-stages.js'
import { generatePhantom } from '../../src-shared/phantom.js'
import { encodeNifti } from '../../src-main/volumes/nifti.js'
import { readNifti } from '../../src-main/volumes/nifti.js'
import type { Geometry, Mat3 } from '../../src-shared/volume.js'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FLARE_LABELS } from '../../src-shared/labels.js'

const oblique: Geometry = {
  dims: [10, 20, 30],
  spacing: [0.7, 0.8, 2.5],
  origin: [-100, 50.5, 12],
  direction: mat3Mul(rotationMatrix([1, 2, 3], 0.6), [-1, 0, 0, 0, 1, 0, 0, 0, -1] as Mat3),
}

describe('index <-> world', () => {
  it('hand-computed voxel centres for a flipped grid', () => {
    const g: Geometry = { dims: [4, 4, 4], spacing: [2, 3, 4], origin: [10, 20, 30], direction: [-1, 0, 0, 0, 1, 0, 0, 0, -1] }
    expect(indexToWorld(g, [1, 2, 3])).toEqual([8, 26, 18])
    expect(worldToIndex(g, [8, 26, 18])).toEqual([1, 2, 3])
  })

  it('world -> index inverts index -> world for an oblique grid', () => {
    for (const ijk of [[0, 0, 0], [9, 19, 29], [3.5, 7.25, 11]] as [number, number, number][]) {
      const back = worldToIndex(oblique, indexToWorld(oblique, ijk))
      back.forEach((v, i) => expect(v).toBeCloseTo(ijk[i], 9))
    }
  })

  it('geometryFromAffine recovers spacing and direction, and refuses a sheared affine', () => {
    const g = geometryFromAffine(oblique.dims, indexToWorldAffine(oblique))
    g.spacing.forEach((s, i) => expect(s).toBeCloseTo(oblique.spacing[i], 12))
    g.direction.forEach((d, i) => expect(d).toBeCloseTo(oblique.direction[i], 12))
    expect(() => geometryFromAffine([2, 2, 2], [1, 0.5, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0])).toThrow(/not perpendicular/)
  })

  it('orientation codes match nibabel letters', () => {
    expect(orientationCode([1, 0, 0, 0, 1, 0, 0, 0, 1])).toBe('LPS')
    expect(orientationCode([-1, 0, 0, 0, -1, 0, 0, 0, 1])).toBe('RAS')
    expect(orientationCode([0, 0, 1, 1, 0, 0, 0, -1, 0])).toBe('PIL')
  })

  it('RAS affine negates the first two rows', () => {
    const a = rasAffine({ dims: [1, 1, 1], spacing: [2, 2, 2], origin: [1, 2, 3], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] })
    expect(a).toEqual([-2, -0, -0, -1, -0, -2, -0, -2, 0, 0, 2, 3, 0, 0, 0, 1])
  })

  it('world bounds of a flipped grid', () => {
    const b = worldBounds({ dims: [3, 3, 3], spacing: [1, 1, 1], origin: [0, 0, 0], direction: [-1, 0, 0, 0, 1, 0, 0, 0, 1] })
    expect(b.min).toEqual([-2, 0, 0])
    expect(b.max).toEqual([0, 2, 2])
  })
})

describe('NIfTI qform path', () => {
  it('a file with only a qform (sform_code 0) gives the same geometry as its sform', () => {
    const { ct } = generatePhantom({ dims: [12, 10, 8], spacing: [3, 4, 5], direction: oblique.direction, noise: 0 })
    const b = encodeNifti(ct, false)
    b.writeInt16LE(0, 254) // drop sform: reader must fall back to the quaternion
    const f = join(mkdtempSync(join(tmpdir(), 'scn-q-')), 'q.nii')
    writeFileSync(f, b)
    const v = readNifti(f)
    v.direction.forEach((d, i) => expect(d).toBeCloseTo(ct.direction[i], 5))
    v.origin.forEach((o, i) => expect(o).toBeCloseTo(ct.origin[i], 3))
  })
})

describe('phantom', () => {
  it('has every organ at a plausible size and HU', () => {
    const { ct, labels } = generatePhantom({ dims: [128, 128, 96], spacing: [3, 3, 3], seed: 3 })
    const voxelMl = (3 * 3 * 3) / 1000
    for (const organ of FLARE_LABELS) {
      let n = 0
      let hu = 0
      for (let i = 0; i < labels.data.length; i++) {
        if (labels.data[i] === organ.value) {
          n++
          hu += ct.data[i]
        }
      }
      const ml = n * voxelMl
      const range = { liver: [900, 2000], kidney: [150, 450], spleen: [100, 400], pancreas: [40, 150] }[organ.name]!
      expect(ml, organ.name).toBeGreaterThan(range[0])
      expect(ml, organ.name).toBeLessThan(range[1])
      expect(hu / n, organ.name).toBeGreaterThan(20)
    }
  })

  it('puts the same anatomy at the same world point whatever the grid orientation', () => {
    const a = generatePhantom({ dims: [60, 50, 40], spacing: [6, 6, 6], noise: 0 })
    const b = generatePhantom({ dims: [40, 60, 50], spacing: [6, 6, 6], noise: 0, direction: [0, 0, -1, -1, 0, 0, 0, 1, 0] })
    const A = indexToWorldAffine(a.labels)
    let same = 0
    let compared = 0
    for (let k = 0; k < 40; k += 3) for (let j = 0; j < 50; j += 3) for (let i = 0; i < 60; i += 3) {
      const w = applyAffine(A, [i, j, k])
      const ib = worldToIndex(b.labels, w).map(Math.round)
      if (ib.some((x, d) => x < 0 || x >= b.labels.dims[d])) continue
      compared++
      const la = a.labels.data[i + 60 * (j + 50 * k)]
      const lb = b.labels.data[ib[0] + 40 * (ib[1] + 60 * ib[2])]
      if (la === lb) same++
    }
    expect(compared).toBeGreaterThan(3000)
    expect(same / compared).toBeGreaterThan(0.99)
  })
})

describe('sameLatticeMap', () => {
  const base: Geometry = { dims: [512, 400, 30], spacing: [0.7, 0.7, 5], origin: [-180, -150, 20], direction: rotationMatrix([0.2, 0.1, 1], 0.3) }
  const col = (g: Geometry, c: number) => [g.direction[c], g.direction[3 + c], g.direction[6 + c]]

  it('maps every voxel of a z-flipped, x/y-swapped copy back to its own voxel', () => {
    // dst axis 0 = src y, dst axis 1 = src x, dst axis 2 = src z reversed (slices stored foot-first)
    const cy = col(base, 1), cx = col(base, 0), cz = col(base, 2).map((v) => -v)
    const top = indexToWorld(base, [0, 0, 29])
    const dst: Geometry = { dims: [400, 512, 30], spacing: [0.7, 0.7, 5], origin: top, direction: [cy[0], cx[0], cz[0], cy[1], cx[1], cz[1], cy[2], cx[2], cz[2]] as Mat3 }
    const map = sameLatticeMap(base, dst)!
    expect(map.identity).toBe(false)
    const src = new Uint32Array(512 * 400 * 30).map((_, i) => i)
    const out = new Uint32Array(src.length)
    copyOntoLattice(src, map, dst.dims, out)
    // each dst voxel holds the flat index of the src voxel at the same world point
    for (const [i, j, k] of [[0, 0, 0], [399, 511, 29], [17, 300, 4], [250, 3, 28]]) {
      const s = worldToIndex(base, indexToWorld(dst, [i, j, k])).map(Math.round)
      expect(out[i + j * 400 + k * 400 * 512]).toBe(s[0] + s[1] * 512 + s[2] * 512 * 400)
    }
  })

  it('is the identity for the same grid, and refuses drift, shifts and other sizes', () => {
    expect(sameLatticeMap(base, base)).toMatchObject({ start: 0, identity: true })
    // 0.7006 mm over 512 voxels drifts 0.44 voxel at the far edge: not the same voxels
    expect(sameLatticeMap(base, { ...base, spacing: [0.7006, 0.7, 5] })).toBeNull()
    expect(sameLatticeMap(base, { ...base, origin: indexToWorld(base, [1, 0, 0]) })).toBeNull()
    expect(sameLatticeMap(base, { ...base, dims: [512, 400, 29] })).toBeNull()
    expect(sameLatticeMap(base, { ...base, direction: rotationMatrix([0.2, 0.1, 1], 0.31) })).toBeNull()
  })
})

describe('segment stages', () => {
  it('every engine stage has words; unknown names read without hyphens', () => {
    expect(segmentStageLabel('localization')).toBe('finding the abdomen (localization network)')
    expect(segmentStageLabel('start')).toBe('starting')
    expect(segmentStageLabel('some-other-step')).toBe('some other step')
    for (const s of SEGMENT_STAGES) expect(segmentStageLabel(s.stage)).not.toMatch(/-/)
  })
})
