/** Resampling, smoothing, crop, intensity and label placement, against hand-computed cases. */
import { describe, expect, it } from 'vitest'
import {
  argmaxChannels,
  belowHuBits,
  centredGrid,
  clipScale,
  cropToFloat32,
  gaussianKernel,
  gaussianSmooth,
  probsToLabels,
  resampleToGrid,
  type SampledImage,
} from '../../src-main/inference/transforms.js'
import { indexToWorld, mat3Mul, rotationMatrix } from '../../src-shared/geometry.js'
import type { Geometry, Mat3, Vec3 } from '../../src-shared/volume.js'

const I3: Mat3 = [1, 0, 0, 0, 1, 0, 0, 0, 1]

function image(dims: Vec3, f: (i: number, j: number, k: number) => number, g: Partial<Geometry> = {}): SampledImage {
  const data = new Float32Array(dims[0] * dims[1] * dims[2])
  let o = 0
  for (let k = 0; k < dims[2]; k++) for (let j = 0; j < dims[1]; j++) for (let i = 0; i < dims[0]; i++) data[o++] = f(i, j, k)
  return { dims, spacing: [1, 1, 1], origin: [0, 0, 0], direction: I3, ...g, data }
}

describe('resampleToGrid, linear', () => {
  it('is a copy on the same grid', () => {
    const src = image([3, 2, 2], (i, j, k) => i + 10 * j + 100 * k)
    expect(Array.from(resampleToGrid(src, src, 'linear', -1))).toEqual(Array.from(src.data))
  })
  it('interpolates half-voxel shifts, extends the border half a voxel, pads beyond', () => {
    const src = image([4, 1, 1], (i) => 10 * i)
    const dst: Geometry = { dims: [6, 1, 1], spacing: [1, 1, 1], origin: [-0.5, 0, 0], direction: I3 }
    // positions -0.5 .. 4.5
    expect(Array.from(resampleToGrid(src, dst, 'linear', -1024))).toEqual([0, 5, 15, 25, 30, -1024])
  })
  it('follows a flipped source direction', () => {
    // world x = 3 - i
    const src = image([4, 1, 1], (i) => i, { origin: [3, 0, 0], direction: [-1, 0, 0, 0, 1, 0, 0, 0, 1] })
    const dst: Geometry = { dims: [4, 1, 1], spacing: [1, 1, 1], origin: [0, 0, 0], direction: I3 }
    expect(Array.from(resampleToGrid(src, dst, 'linear', 0))).toEqual([3, 2, 1, 0])
  })
  it('reproduces a linear function of world position exactly on an oblique, anisotropic source', () => {
    const f = (p: Vec3) => 2 * p[0] - 3 * p[1] + 0.5 * p[2] + 7
    const direction = mat3Mul(rotationMatrix([0.3, 1, 0.2], 0.4), [-1, 0, 0, 0, 1, 0, 0, 0, 1])
    const geo: Geometry = { dims: [20, 18, 12], spacing: [1.5, 1.2, 2.5], origin: [3, -4, 5], direction }
    const src = image(geo.dims, (i, j, k) => f(indexToWorld(geo, [i, j, k])), geo)
    const dst = centredGrid(indexToWorld(geo, [9.5, 8.5, 5.5]), [1.1, 0.9, 1.3], [8, 8, 8])
    const out = resampleToGrid(src, dst, 'linear', NaN)
    let checked = 0
    let o = 0
    for (let k = 0; k < 8; k++) for (let j = 0; j < 8; j++) for (let i = 0; i < 8; i++, o++) {
      expect(out[o]).toBeCloseTo(f(indexToWorld(dst, [i, j, k])), 3)
      checked++
    }
    expect(checked).toBe(512)
  })
})

describe('resampleToGrid, area', () => {
  it('gives exact block means for an integer factor', () => {
    const src = image([4, 4, 4], (i, j, k) => i + 4 * j + 16 * k)
    const dst: Geometry = { dims: [2, 2, 2], spacing: [2, 2, 2], origin: [0.5, 0.5, 0.5], direction: I3 }
    const out = resampleToGrid(src, dst, 'area', 0)
    let o = 0
    for (let c = 0; c < 2; c++) for (let b = 0; b < 2; b++) for (let a = 0; a < 2; a++) expect(out[o++]).toBeCloseTo(2 * a + 0.5 + 4 * (2 * b + 0.5) + 16 * (2 * c + 0.5), 5)
  })
  it('averages the padding in where the destination voxel overhangs the source', () => {
    const src = image([2, 1, 1], () => 100)
    // one voxel of 4 mm centred at x = 1: covers source voxels 0,1 and two mm of outside
    const dst: Geometry = { dims: [1, 1, 1], spacing: [4, 1, 1], origin: [1, 0, 0], direction: I3 }
    expect(resampleToGrid(src, dst, 'area', -1000)[0]).toBeCloseTo((100 + 100 - 1000 - 1000) / 4, 5)
  })
  it('is nearest-neighbour when upsampling', () => {
    const src = image([2, 1, 1], (i) => 10 * i)
    const dst: Geometry = { dims: [4, 1, 1], spacing: [0.5, 1, 1], origin: [-0.25, 0, 0], direction: I3 }
    expect(Array.from(resampleToGrid(src, dst, 'area', -1))).toEqual([0, 0, 10, 10])
  })
})

describe('gaussianSmooth', () => {
  it('kernel: normalised, radius ceil(4 sigma + 0.5)', () => {
    const k = gaussianKernel(1)
    expect(k.length).toBe(11)
    expect(k.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6)
    expect(k[5] / k[6]).toBeCloseTo(Math.exp(0.5), 5)
  })
  it('turns an interior delta into the kernel, separably, per-axis sigma', () => {
    const dims: Vec3 = [21, 3, 21]
    const d = new Float32Array(21 * 3 * 21)
    const at = (i: number, j: number, k: number) => i + 21 * (j + 3 * k)
    d[at(10, 1, 10)] = 1
    gaussianSmooth(d, dims, [1, 0, 2])
    const kx = gaussianKernel(1)
    const kz = gaussianKernel(2)
    expect(d[at(10, 1, 10)]).toBeCloseTo(kx[5] * kz[9], 6)
    expect(d[at(12, 1, 7)]).toBeCloseTo(kx[7] * kz[6], 6)
    expect(d[at(10, 0, 10)]).toBe(0) // sigma 0 on y: no spread
    expect(d.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5)
  })
  it('mirrors at the border (edge repeated) and keeps constants constant', () => {
    const d = new Float32Array(12)
    d[0] = 1
    gaussianSmooth(d, [12, 1, 1], [1, 0, 0])
    const k = gaussianKernel(1)
    expect(d[0]).toBeCloseTo(k[5] + k[4], 6)
    expect(d[1]).toBeCloseTo(k[4] + k[3], 6)
    const c = new Float32Array(60).fill(-300)
    gaussianSmooth(c, [5, 4, 3], [0.8, 1.3, 0.4])
    c.forEach((v) => expect(v).toBeCloseTo(-300, 3))
  })
})

describe('crop and intensity', () => {
  it('cropToFloat32 copies the box with the matching origin', () => {
    const src = image([4, 3, 2], (i, j, k) => i + 10 * j + 100 * k, { spacing: [2, 2, 2], origin: [10, 10, 10] })
    const c = cropToFloat32(src, { min: [1, 1, 0], max: [2, 2, 1] })
    expect(c.dims).toEqual([2, 2, 2])
    expect(c.origin).toEqual([12, 12, 10])
    expect(Array.from(c.data)).toEqual([11, 12, 21, 22, 111, 112, 121, 122])
  })
  it('cropToFloat32 repeats the edge slices where the box reaches beyond the volume (zPadding replicate)', () => {
    const src = image([2, 1, 2], (i, j, k) => i + 100 * k, { spacing: [1, 1, 3], origin: [0, 0, 30] })
    const c = cropToFloat32(src, { min: [0, 0, -2], max: [1, 0, 3] })
    expect(c.dims).toEqual([2, 1, 6])
    expect(c.origin).toEqual([0, 0, 24])
    // slices -2, -1 repeat slice 0; slices 2, 3 repeat slice 1
    expect(Array.from(c.data)).toEqual([0, 1, 0, 1, 0, 1, 100, 101, 100, 101, 100, 101])
    // and in-plane too, when asked (the same clamp on every axis)
    const wide = cropToFloat32(src, { min: [-1, 0, 0], max: [2, 0, 0] })
    expect(Array.from(wide.data)).toEqual([0, 0, 1, 1])
  })
  it('clipScale is clip(x / scale, min, max)', () => {
    const d = Float32Array.from([-4096, -1024, 0, 1024, 4096])
    clipScale(d, 2048, -1, 1)
    expect(Array.from(d)).toEqual([-1, -0.5, 0, 0.5, 1])
  })
  it('clipScale with an offset is a window: L40/W400 maps -160..240 HU onto -1..1', () => {
    const d = Float32Array.from([-1024, -160, -60, 40, 90, 240, 1000])
    clipScale(d, 200, -1, 1, 40)
    expect(Array.from(d)).toEqual([-1, -1, -0.5, 0, 0.25, 1, 1])
  })
})

describe('labels from probabilities', () => {
  it('argmaxChannels over a [C, voxels] buffer (first channel wins ties)', () => {
    // 3 voxels, 3 channels
    const p = Float32Array.from([0.2, 0.5, 0.1, /**/ 0.7, 0.5, 0.2, /**/ 0.1, 0, 0.7])
    expect(Array.from(argmaxChannels(p, 3, 3))).toEqual([1, 0, 2])
  })
  it('probsToLabels interpolates linearly onto a finer, flipped grid and leaves voxels outside alone', () => {
    // model grid: two voxels at x = 0 and x = 2 (spacing 2); channel 1 rises from 0.2 to 0.8
    const grid: Geometry = { dims: [2, 1, 1], spacing: [2, 1, 1], origin: [0, 0, 0], direction: I3 }
    const probs = Float32Array.from([0.8, 0.2, /**/ 0.2, 0.8])
    // target: x = 4, 3.5, ..., -1 (flipped), 11 voxels
    const target: Geometry = { dims: [11, 1, 1], spacing: [0.5, 1, 1], origin: [4, 0, 0], direction: [-1, 0, 0, 0, 1, 0, 0, 0, 1] }
    const labels = new Uint8Array(11).fill(9)
    probsToLabels(probs, 2, grid, target, labels)
    // grid covers x in [-1, 3]: x = 4, 3.5 untouched; x = 3 .. 1.5 -> 1; x = 1 is the tie (0.5, 0.5) -> 0; below -> 0
    expect(Array.from(labels)).toEqual([9, 9, 1, 1, 1, 1, 0, 0, 0, 0, 0])
  })
  it('agrees with full interpolation where the neighbourhood shortcut applies and where it does not', () => {
    const grid = centredGrid([0, 0, 0], [2, 2, 2], [6, 5, 4])
    const n = 6 * 5 * 4
    const probs = new Float32Array(3 * n)
    for (let v = 0; v < n; v++) {
      const a = Math.sin(v * 1.7) * 0.5 + 0.5
      probs[v] = a
      probs[n + v] = v % 7 === 0 ? 0.9 : 0.1
      probs[2 * n + v] = 1 - a
    }
    const target: Geometry = { dims: [15, 13, 11], spacing: [0.9, 0.8, 0.7], origin: [-6, -5, -3.5], direction: mat3Mul(rotationMatrix([0, 0, 1], 0.2), I3) }
    const labels = new Uint8Array(15 * 13 * 11)
    probsToLabels(probs, 3, grid, target, labels)
    // brute force: full trilinear of each channel via resampleToGrid, then argmax
    const chans = [0, 1, 2].map((c) => resampleToGrid({ ...grid, data: probs.subarray(c * n, (c + 1) * n) }, target, 'linear', c === 0 ? 2 : 0))
    for (let v = 0; v < labels.length; v++) {
      let best = 0
      for (let c = 1; c < 3; c++) if (chans[c][v] > chans[best][v]) best = c
      expect(labels[v], `voxel ${v}`).toBe(best)
    }
  })
  it('belowHuBits packs one bit a voxel, voxel i in bit i & 7 of byte i >> 3', () => {
    const bits = belowHuBits(Int16Array.from([-100, 50, -31, -30, 0, 0, 0, 0, -500]), -30)
    expect(Array.from(bits)).toEqual([0b101, 0b1])
  })
  it('the border trim removes fat and air from organ borders, and only there', () => {
    // model grid: 4 mm voxels, the organ on voxels 2..5 of each axis (centres -6..6 mm): the
    // interpolated border lies at +-8 mm. The CT (1 mm voxels) has the organ (60 HU) inside +-7 mm:
    // the coarse border runs 1 mm into fat (-100 HU) on every face but one, where muscle (40 HU,
    // x > 7 mm) touches it; a 2 mm fat focus sits at the organ's centre, far from any border.
    const grid = centredGrid([0, 0, 0], [4, 4, 4], [8, 8, 8])
    const n = 8 * 8 * 8
    const probs = new Float32Array(2 * n)
    for (let k = 0, v = 0; k < 8; k++)
      for (let j = 0; j < 8; j++)
        for (let i = 0; i < 8; i++, v++) {
          const organ = [i, j, k].every((a) => a >= 2 && a <= 5)
          probs[v] = organ ? 0.1 : 0.9
          probs[n + v] = organ ? 0.9 : 0.1
        }
    const target = centredGrid([0, 0, 0], [1, 1, 1], [30, 30, 30])
    const ct = new Int16Array(30 ** 3)
    const world = (v: number) => [v % 30, Math.floor(v / 30) % 30, Math.floor(v / 900)].map((a) => a - 14.5)
    for (let v = 0; v < ct.length; v++) {
      const [x, y, z] = world(v)
      const inOrgan = Math.max(Math.abs(x), Math.abs(y), Math.abs(z)) < 7
      const focus = Math.max(Math.abs(x), Math.abs(y), Math.abs(z)) < 1
      ct[v] = focus ? -100 : inOrgan ? 60 : x > 7 ? 40 : -100
    }
    const plain = new Uint8Array(ct.length)
    probsToLabels(probs, 2, grid, target, plain)
    const trimmed = new Uint8Array(ct.length)
    probsToLabels(probs, 2, grid, target, trimmed, { trimBelow: belowHuBits(ct, -30) })
    const count = (l: Uint8Array, where: (x: number) => boolean = () => true) => l.reduce((a, b, v) => a + (where(world(v)[0]) ? b : 0), 0)
    // the coarse border (rounded at edges and corners by the interpolation) runs up to 1 mm into the fat
    expect(count(plain)).toBeGreaterThan(14 ** 3 + 1000)
    expect(count(plain)).toBeLessThanOrEqual(16 ** 3)
    // trimmed: the organ's own 14^3 voxels, and what the coarse border holds of the muscle (not fat: kept)
    expect(count(plain, (x) => x > 7)).toBeGreaterThan(100)
    expect(count(trimmed)).toBe(14 ** 3 + count(plain, (x) => x > 7))
    for (let v = 0; v < ct.length; v++) {
      const [x, y, z] = world(v)
      if (Math.max(Math.abs(x), Math.abs(y), Math.abs(z)) < 1) expect(trimmed[v], `fat focus voxel ${v}`).toBe(1)
      else if (ct[v] >= -30 || plain[v] === 0) expect(trimmed[v], `voxel ${v}`).toBe(plain[v])
      else expect(trimmed[v], `fat voxel ${v} on the border`).toBe(0)
    }
  })
  // the review hint's counts (pipeline.ts UNSURE_MARGIN): per label, the target voxels it won and those won by < margin
  function bruteDoubt(probs: Float32Array, nc: number, grid: Geometry, target: Geometry, margin: number) {
    const n = grid.dims[0] * grid.dims[1] * grid.dims[2]
    const chans = Array.from({ length: nc }, (_, c) => resampleToGrid({ ...grid, data: probs.subarray(c * n, (c + 1) * n) }, target, 'linear', -1))
    const won = new Array(nc).fill(0)
    const unsure = new Array(nc).fill(0)
    for (let v = 0; v < chans[0].length; v++) {
      if (chans[0][v] === -1) continue // outside the model grid
      const ranked = chans.map((ch, c) => [ch[v], c]).sort((a, b) => b[0] - a[0] || a[1] - b[1])
      const best = ranked[0][1]
      if (best === 0) continue
      won[best]++
      if (ranked[0][0] - ranked[1][0] < margin) unsure[best]++
    }
    return { won, unsure }
  }
  function randomField(grid: Geometry, nc: number, seed: number): Float32Array {
    const n = grid.dims[0] * grid.dims[1] * grid.dims[2]
    const probs = new Float32Array(nc * n)
    let s = seed
    const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648)
    for (let v = 0; v < n; v++) {
      // smooth-ish: an organ blob plus noise, normalised over the channels
      const w = Array.from({ length: nc }, (_, c) => (c === 0 ? 1 : 4 * Math.exp(-(((v % 7) - 2 * c) ** 2) / 4)) + 0.6 * rnd())
      const sum = w.reduce((a, b) => a + b, 0)
      for (let c = 0; c < nc; c++) probs[c * n + v] = w[c] / sum
    }
    return probs
  }
  it('counts, per organ, the target voxels it won and those it won by less than the margin (two channels: exact)', () => {
    const grid = centredGrid([0, 0, 0], [2, 2, 2], [6, 5, 4])
    const target: Geometry = { dims: [15, 13, 11], spacing: [0.9, 0.8, 0.7], origin: [-6, -5, -3.5], direction: mat3Mul(rotationMatrix([0, 0, 1], 0.2), I3) }
    const probs = randomField(grid, 2, 7)
    const labels = new Uint8Array(15 * 13 * 11)
    const doubt = { margin: 0.2, won: new Float64Array(2), unsure: new Float64Array(2) }
    probsToLabels(probs, 2, grid, target, labels, { doubt })
    const truth = bruteDoubt(probs, 2, grid, target, 0.2)
    expect(doubt.won[1]).toBe(labels.reduce((a, l) => a + (l === 1 ? 1 : 0), 0))
    expect(doubt.won[1]).toBe(truth.won[1])
    expect(truth.unsure[1]).toBeGreaterThan(0)
    expect(truth.unsure[1]).toBeLessThan(truth.won[1])
    // two channels: the margin |p1 - p0| is linear where the label holds, so the shortcut's interpolated margin is exact
    expect(doubt.unsure[1]).toBe(truth.unsure[1])
    expect(doubt.won[0]).toBe(0)
  })
  it('with more channels the shortcut errs toward doubt: never fewer unsure voxels than full interpolation, and few more', () => {
    const grid = centredGrid([0, 0, 0], [2, 2, 2], [7, 6, 5])
    const target: Geometry = { dims: [17, 15, 12], spacing: [0.9, 0.8, 0.9], origin: [-7, -6, -5], direction: mat3Mul(rotationMatrix([1, 1, 0], 0.3), I3) }
    const probs = randomField(grid, 4, 11)
    const labels = new Uint8Array(17 * 15 * 12)
    const doubt = { margin: 0.3, won: new Float64Array(4), unsure: new Float64Array(4) }
    probsToLabels(probs, 4, grid, target, labels, { doubt })
    const truth = bruteDoubt(probs, 4, grid, target, 0.3)
    for (let c = 1; c < 4; c++) {
      expect(doubt.won[c], `label ${c}`).toBe(truth.won[c])
      expect(doubt.unsure[c], `label ${c}`).toBeGreaterThanOrEqual(truth.unsure[c])
      expect(doubt.unsure[c], `label ${c}`).toBeLessThanOrEqual(truth.unsure[c] + 0.1 * truth.won[c])
    }
  })
  it('the doubt counts the labels as written: voxels the border trim turned to background are not counted', () => {
    const grid = centredGrid([0, 0, 0], [4, 4, 4], [6, 6, 6])
    const n = 6 ** 3
    const probs = new Float32Array(2 * n)
    for (let v = 0; v < n; v++) {
      const organ = [v % 6, Math.floor(v / 6) % 6, Math.floor(v / 36)].every((a) => a >= 2 && a <= 3)
      probs[v] = organ ? 0.2 : 0.8
      probs[n + v] = 1 - probs[v]
    }
    const target = centredGrid([0, 0, 0], [1, 1, 1], [20, 20, 20])
    const fat = new Int16Array(20 ** 3).fill(-100)
    const plain = { margin: 0.5, won: new Float64Array(2), unsure: new Float64Array(2) }
    const trimmed = { margin: 0.5, won: new Float64Array(2), unsure: new Float64Array(2) }
    const a = new Uint8Array(20 ** 3)
    const b = new Uint8Array(20 ** 3)
    probsToLabels(probs, 2, grid, target, a, { doubt: plain })
    probsToLabels(probs, 2, grid, target, b, { doubt: trimmed, trimBelow: belowHuBits(fat, -30) })
    const count = (l: Uint8Array) => l.reduce((s, x) => s + x, 0)
    expect(plain.won[1]).toBe(count(a))
    expect(trimmed.won[1]).toBe(count(b))
    expect(trimmed.won[1]).toBeLessThan(plain.won[1])
    expect(trimmed.unsure[1]).toBeLessThan(plain.unsure[1])
  })
})
