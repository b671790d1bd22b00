/**
 * Grow from seeds (src-renderer/editing/grow-from-seeds.ts) and its worker client. The expectations
 * come from the synthetic scenes themselves (the true lesion ellipsoid, the known boundary between two
 * tissues, which voxels are locked or outside the box), never from a run of the algorithm.
 */
import { describe, expect, it } from 'vitest'
import {
  answerGrowRequest,
  cropToBox,
  growFromSeeds,
  GrowHeap,
  pasteGrown,
  seedBox,
  type GrowBox,
  type GrowInput,
  type GrowReply,
  type GrowRequest,
} from '../../src-renderer/editing/grow-from-seeds.js'
import { GrowCancelledError, GrowClient, type GrowWorkerLike } from '../../src-renderer/editing/grow-client.js'
import { mulberry32 } from '../../src-shared/phantom.js'
import { GrowController } from '../../src-renderer/editing/grow-controller.js'
import { EditSession } from '../../src-renderer/editing/session.js'
import { gridFromArray, gridToArray } from '../../src-renderer/editing/grid.js'
import { sphere } from '../../src-renderer/editing/strategies.js'
import { editStore } from '../../src-renderer/store/edit-store.js'
import { labelsStore } from '../../src-renderer/store/labels-store.js'
import type { Vec3 } from '../../src-shared/volume.js'

const BG = 255

function gaussian(seed: number): () => number {
  const rand = mulberry32(seed)
  return () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand())
}

const idx = (dims: Vec3, i: number, j: number, k: number): number => i + dims[0] * (j + dims[1] * k)

/**
 * Liver (60 HU) with a hypodense ellipsoidal lesion (20 HU, semi-axes 12 x 10.5 x 13 mm) at the grid
 * centre, 0.8 x 0.8 x 2.5 mm, Gaussian noise. The CT has the partial volume of a 2.5 mm slice (five
 * samples through each voxel's thickness); the truth is whether the voxel centre is inside.
 */
function lesionScene(noiseSd: number, seed = 11) {
  const dims: Vec3 = [72, 72, 28]
  const spacing: Vec3 = [0.8, 0.8, 2.5]
  const semi: Vec3 = [12, 10.5, 13]
  const c = [((dims[0] - 1) / 2) * spacing[0], ((dims[1] - 1) / 2) * spacing[1], ((dims[2] - 1) / 2) * spacing[2]]
  const noise = gaussian(seed)
  const n = dims[0] * dims[1] * dims[2]
  const ct = new Int16Array(n)
  const truth = new Uint8Array(n)
  const inside = (x: number, y: number, z: number): boolean => ((x - c[0]!) / semi[0]) ** 2 + ((y - c[1]!) / semi[1]) ** 2 + ((z - c[2]!) / semi[2]) ** 2 <= 1
  for (let k = 0, i = 0; k < dims[2]; k++) {
    for (let j = 0; j < dims[1]; j++) {
      for (let x = 0; x < dims[0]; x++, i++) {
        const px = x * spacing[0], py = j * spacing[1], pz = k * spacing[2]
        truth[i] = inside(px, py, pz) ? 1 : 0
        let f = 0
        for (let s = 0; s < 5; s++) f += inside(px, py, pz + ((s + 0.5) / 5 - 0.5) * spacing[2]) ? 0.2 : 0
        ct[i] = Math.round(60 * (1 - f) + 20 * f + noiseSd * noise())
      }
    }
  }
  // seeds, in mm from the centre, as a user paints them with a small brush
  const lesionSeeds = new Uint8Array(n)
  const allSeeds = new Uint8Array(n)
  const kc = Math.round(c[2]! / spacing[2])
  for (let k = 0, i = 0; k < dims[2]; k++) {
    const dk = k - kc
    const z = k * spacing[2] - c[2]!
    for (let j = 0; j < dims[1]; j++) {
      for (let x = 0; x < dims[0]; x++, i++) {
        const dx = x * spacing[0] - c[0]!, dy = j * spacing[1] - c[1]!
        const r = Math.hypot(dx, dy)
        const onCross = Math.abs(dx) <= 0.6 || Math.abs(dy) <= 0.6
        // inside the lesion: a cross on the middle slice, shorter ones two slices above and below
        if (onCross && ((dk === 0 && r <= 7) || (Math.abs(dk) === 2 && r <= 4))) {
          lesionSeeds[i] = 1
          allSeeds[i] = 1
        } else if (Math.abs(dk) <= 4 && dk % 2 === 0 && Math.abs(r - 19) <= 0.6) {
          allSeeds[i] = BG // a ring in the liver around the lesion, on five slices
        } else if (Math.abs(Math.abs(z) - 20) <= 1.25 && r <= 14 && onCross) {
          allSeeds[i] = BG // crosses in the liver above and below it
        }
      }
    }
  }
  return { dims, spacing, ct, truth, lesionSeeds, allSeeds }
}

function dice(labels: Uint8Array, truth: Uint8Array, value = 1): number {
  let both = 0, a = 0, b = 0
  for (let i = 0; i < truth.length; i++) {
    const x = labels[i] === value, y = truth[i] === 1
    if (x) a++
    if (y) b++
    if (x && y) both++
  }
  return (2 * both) / (a + b)
}

/** A grid-sized labelmap with the result pasted onto zeros. */
function onGrid(result: { labels: Uint8Array; box: GrowBox }, dims: Vec3): Uint8Array {
  const grid = new Uint8Array(dims[0] * dims[1] * dims[2])
  pasteGrown({ ...result, borderAsBackground: false, seedLabels: [], ms: 0 }, dims, grid)
  return grid
}

const same = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((v, i) => v === b[i])

/** Two touching tissues: x <= 30 at 100 HU, x >= 31 at 40 HU. */
function twoTissues(noiseSd: number) {
  const dims: Vec3 = [64, 24, 12]
  const spacing: Vec3 = [0.8, 0.8, 2.5]
  const noise = gaussian(5)
  const n = dims[0] * dims[1] * dims[2]
  const ct = new Int16Array(n)
  const seeds = new Uint8Array(n)
  for (let k = 0; k < dims[2]; k++) {
    for (let j = 0; j < dims[1]; j++) {
      for (let i = 0; i < dims[0]; i++) {
        ct[idx(dims, i, j, k)] = Math.round((i <= 30 ? 100 : 40) + noiseSd * noise())
        // label 2's strokes are much nearer the boundary than label 1's: a split by distance would be at x = 22.5
        if (i === 5 && j % 4 === 2) seeds[idx(dims, i, j, k)] = 1
        if (i === 40 && j % 4 === 2) seeds[idx(dims, i, j, k)] = 2
      }
    }
  }
  return { dims, spacing, ct, seeds }
}


describe('growFromSeeds: lesion in liver', () => {
  for (const noiseSd of [10, 15]) {
    it(`grows a 20 HU lesion in 60 HU liver (noise sd ${noiseSd} HU, 0.8x0.8x2.5 mm) to Dice >= 0.9`, () => {
      const s = lesionScene(noiseSd)
      const input: GrowInput = { ct: s.ct, dims: s.dims, spacing: s.spacing, seeds: s.allSeeds }
      const whole = growFromSeeds(input)
      expect(whole.seedLabels).toEqual([1])
      expect(whole.borderAsBackground).toBe(false)
      const dWhole = dice(onGrid(whole, s.dims), s.truth)

      // the caller's way: the seeds' bounding box grown by a margin
      const box = seedBox(s.allSeeds, s.dims, s.spacing, 5)!
      const boxed = growFromSeeds({ ...input, box })
      const dBox = dice(onGrid(boxed, s.dims), s.truth)

      // only lesion strokes: the faces of a box 12 mm around them are the background
      const lesionBox = seedBox(s.lesionSeeds, s.dims, s.spacing, 12)!
      const border = growFromSeeds({ ...input, seeds: s.lesionSeeds, box: lesionBox })
      expect(border.borderAsBackground).toBe(true)
      const dBorder = dice(onGrid(border, s.dims), s.truth)

      console.info(`noise ${noiseSd} HU: Dice whole grid ${dWhole.toFixed(3)}, seed box ${dBox.toFixed(3)}, lesion strokes only ${dBorder.toFixed(3)}`)
      expect(dWhole).toBeGreaterThanOrEqual(0.9)
      expect(dBox).toBeGreaterThanOrEqual(0.9)
      expect(dBorder).toBeGreaterThanOrEqual(0.9)
    })
  }

  it('gives the same labels for int16 and float32 CT, and on every run', () => {
    const s = lesionScene(12)
    const box = seedBox(s.allSeeds, s.dims, s.spacing, 5)!
    const a = growFromSeeds({ ct: s.ct, dims: s.dims, spacing: s.spacing, seeds: s.allSeeds, box })
    const b = growFromSeeds({ ct: Float32Array.from(s.ct), dims: s.dims, spacing: s.spacing, seeds: s.allSeeds, box })
    const c = growFromSeeds({ ct: s.ct, dims: s.dims, spacing: s.spacing, seeds: s.allSeeds, box })
    expect(same(a.labels, b.labels)).toBe(true)
    expect(same(a.labels, c.labels)).toBe(true)
  })

  it('smoothing is what makes noise sd 15 work: the raw cost (smoothingMm 0) overgrows', () => {
    const s = lesionScene(15)
    const raw = growFromSeeds({ ct: s.ct, dims: s.dims, spacing: s.spacing, seeds: s.allSeeds, smoothingMm: 0 })
    const smoothed = growFromSeeds({ ct: s.ct, dims: s.dims, spacing: s.spacing, seeds: s.allSeeds })
    expect(dice(onGrid(smoothed, s.dims), s.truth)).toBeGreaterThan(dice(onGrid(raw, s.dims), s.truth))
  })
})

describe('growFromSeeds: competition', () => {
  it('splits two touching regions of different HU at their boundary, not halfway between the seeds', () => {
    for (const noiseSd of [0, 8]) {
      const t = twoTissues(noiseSd)
      const r = growFromSeeds({ ct: t.ct, dims: t.dims, spacing: t.spacing, seeds: t.seeds })
      expect(r.seedLabels).toEqual([1, 2])
      expect(r.borderAsBackground).toBe(false)
      let right = 0
      let zeros = 0
      for (let k = 0; k < t.dims[2]; k++) {
        for (let j = 0; j < t.dims[1]; j++) {
          for (let i = 0; i < t.dims[0]; i++) {
            const v = r.labels[idx(t.dims, i, j, k)]
            if (v === 0) zeros++
            if (v === (i <= 30 ? 1 : 2)) right++
          }
        }
      }
      expect(zeros).toBe(0) // two labels and no background: every voxel goes to one of them
      const n = t.dims[0] * t.dims[1] * t.dims[2]
      if (noiseSd === 0) expect(right).toBe(n)
      else expect(right / n).toBeGreaterThanOrEqual(0.99)
    }
  })

  it('measures in mm, not in voxels: on 0.8x0.8x2.5 mm a voxel 4 slices away is farther than 6 columns away', () => {
    const dims: Vec3 = [40, 40, 16]
    const spacing: Vec3 = [0.8, 0.8, 2.5]
    const n = dims[0] * dims[1] * dims[2]
    const ct = new Int16Array(n).fill(50) // flat: only the distance term decides
    const seeds = new Uint8Array(n)
    seeds[idx(dims, 20, 20, 5)] = 1 // 4 slices below the probe: 10 mm, 4 steps
    seeds[idx(dims, 26, 20, 9)] = 2 // 6 columns beside it: 4.8 mm, 6 steps
    const r = growFromSeeds({ ct, dims, spacing, seeds, seedLocality: 1 })
    expect(r.labels[idx(dims, 20, 20, 9)]).toBe(2)
    expect(r.labels[idx(dims, 20, 20, 6)]).toBe(1)
  })
})

describe('growFromSeeds: what must not change', () => {
  it('never changes locked voxels, and a seed on a locked voxel does nothing', () => {
    const s = lesionScene(12)
    const n = s.ct.length
    const locked = new Uint8Array(n)
    // a locked block inside the lesion, another across its edge
    for (let k = 12; k <= 15; k++) {
      for (let j = 30; j <= 33; j++) {
        for (let i = 36; i <= 38; i++) locked[idx(s.dims, i, j, k)] = 1
        for (let i = 48; i <= 54; i++) locked[idx(s.dims, i, j, k)] = 1
      }
    }
    const r = growFromSeeds({ ct: s.ct, dims: s.dims, spacing: s.spacing, seeds: s.allSeeds, locked })
    let lockedCount = 0
    for (let i = 0; i < n; i++) {
      if (!locked[i]) continue
      lockedCount++
      expect(r.labels[i]).toBe(0)
    }
    expect(lockedCount).toBe(4 * 4 * 10)

    // pasted onto a labelmap, locked voxels keep what they had
    const labelmap = new Uint8Array(n)
    for (let i = 0; i < n; i++) labelmap[i] = i % 7
    const before = labelmap.slice()
    pasteGrown(r, s.dims, labelmap, locked)
    for (let i = 0; i < n; i++) if (locked[i]) expect(labelmap[i]).toBe(before[i])

    // a seed painted on a locked voxel (here: a third label) neither grows nor shows
    const seeds = s.allSeeds.slice()
    seeds[idx(s.dims, 37, 31, 13)] = 4
    const withSeed = growFromSeeds({ ct: s.ct, dims: s.dims, spacing: s.spacing, seeds, locked })
    expect(withSeed.seedLabels).toEqual([1])
    expect(same(withSeed.labels, r.labels)).toBe(true)
  })

  it('no label crosses a locked wall', () => {
    const t = twoTissues(0)
    const locked = new Uint8Array(t.ct.length)
    for (let k = 0; k < t.dims[2]; k++) for (let j = 0; j < t.dims[1]; j++) locked[idx(t.dims, 20, j, k)] = 1
    // without the wall label 1 (seeds at x = 5) owns its tissue up to x = 30; the wall at x = 20 leaves
    // x = 21..30 to label 2 (seeds at x = 40), the only one that can get there
    const r = growFromSeeds({ ct: t.ct, dims: t.dims, spacing: t.spacing, seeds: t.seeds, locked })
    for (let k = 0; k < t.dims[2]; k++) {
      for (let j = 0; j < t.dims[1]; j++) {
        for (let i = 0; i < t.dims[0]; i++) expect(r.labels[idx(t.dims, i, j, k)]).toBe(i < 20 ? 1 : i === 20 ? 0 : 2)
      }
    }
  })

  it('keeps every seed as it is, even one painted in the wrong tissue', () => {
    const s = lesionScene(12)
    const seeds = s.allSeeds.slice()
    seeds[idx(s.dims, 3, 3, 3)] = 1 // a label-1 seed deep in the liver
    seeds[idx(s.dims, 36, 36, 14)] = BG // a background seed in the lesion centre
    seeds[idx(s.dims, 60, 60, 20)] = 7 // a third label
    const r = growFromSeeds({ ct: s.ct, dims: s.dims, spacing: s.spacing, seeds })
    expect(r.seedLabels).toEqual([1, 7])
    for (let i = 0; i < seeds.length; i++) {
      if (seeds[i] === 0) continue
      expect(r.labels[i]).toBe(seeds[i] === BG ? 0 : seeds[i])
    }
  })

  it('honours another background value', () => {
    const s = lesionScene(12)
    const seeds = s.allSeeds.map((v) => (v === BG ? 9 : v))
    const a = growFromSeeds({ ct: s.ct, dims: s.dims, spacing: s.spacing, seeds: s.allSeeds })
    const b = growFromSeeds({ ct: s.ct, dims: s.dims, spacing: s.spacing, seeds, backgroundValue: 9 })
    expect(same(a.labels, b.labels)).toBe(true)
  })

  it('with a box smaller than the grid, reads and writes nothing outside it', () => {
    const s = lesionScene(12)
    const box: GrowBox = { min: [14, 16, 6], max: [57, 55, 21] }
    const r = growFromSeeds({ ct: s.ct, dims: s.dims, spacing: s.spacing, seeds: s.allSeeds, box })
    expect(r.box).toEqual(box)
    expect(r.labels.length).toBe(44 * 40 * 16)

    const labelmap = new Uint8Array(s.ct.length).fill(3)
    const changed = pasteGrown(r, s.dims, labelmap)
    expect(changed).toBeGreaterThan(0)
    for (let k = 0; k < s.dims[2]; k++) {
      for (let j = 0; j < s.dims[1]; j++) {
        for (let i = 0; i < s.dims[0]; i++) {
          const inBox = i >= 14 && i <= 57 && j >= 16 && j <= 55 && k >= 6 && k <= 21
          if (!inBox) expect(labelmap[idx(s.dims, i, j, k)]).toBe(3)
        }
      }
    }
    // nothing outside is read: scrambling CT and seeds there changes nothing
    const ct = s.ct.slice()
    const seeds = s.allSeeds.slice()
    for (let k = 0; k < s.dims[2]; k++) {
      for (let j = 0; j < s.dims[1]; j++) {
        for (let i = 0; i < s.dims[0]; i++) {
          const inBox = i >= 14 && i <= 57 && j >= 16 && j <= 55 && k >= 6 && k <= 21
          if (!inBox) {
            ct[idx(s.dims, i, j, k)] = -1000
            seeds[idx(s.dims, i, j, k)] = 2
          }
        }
      }
    }
    const scrambled = growFromSeeds({ ct, dims: s.dims, spacing: s.spacing, seeds, box })
    expect(same(scrambled.labels, r.labels)).toBe(true)
    // and the cropped copy (what the worker gets) grows the same
    const crop = cropToBox({ ct: s.ct, dims: s.dims, spacing: s.spacing, seeds: s.allSeeds, box })
    expect(crop.input.dims).toEqual([44, 40, 16])
    expect(same(growFromSeeds(crop.input).labels, r.labels)).toBe(true)
  })

  it('returns all background when there are no label seeds', () => {
    const s = lesionScene(12)
    const seeds = s.allSeeds.map((v) => (v === 1 ? 0 : v))
    const r = growFromSeeds({ ct: s.ct, dims: s.dims, spacing: s.spacing, seeds })
    expect(r.seedLabels).toEqual([])
    expect(r.labels.every((v) => v === 0)).toBe(true)
  })

  it('refuses arrays of the wrong size and empty boxes', () => {
    const dims: Vec3 = [4, 4, 4]
    const spacing: Vec3 = [1, 1, 1]
    expect(() => growFromSeeds({ ct: new Int16Array(63), dims, spacing, seeds: new Uint8Array(64) })).toThrow(/64 voxels/)
    expect(() => growFromSeeds({ ct: new Int16Array(64), dims, spacing, seeds: new Uint8Array(64), box: { min: [5, 0, 0], max: [9, 3, 3] } })).toThrow(/empty box/)
  })
})

describe('GrowHeap', () => {
  it('pops in key order, equal keys first in first out, with decrease-key', () => {
    const h = new GrowHeap(100)
    const rand = mulberry32(3)
    const keys = new Map<number, number>()
    for (let v = 0; v < 100; v++) {
      const k = Math.floor(rand() * 10)
      h.set(v, k)
      keys.set(v, k)
    }
    for (let v = 0; v < 100; v += 3) {
      const k = keys.get(v)! - 2
      expect(h.set(v, k)).toBe(true)
      keys.set(v, k)
    }
    expect(h.set(1, 99)).toBe(false) // a higher key is ignored
    const out: number[] = []
    while (h.size > 0) {
      const k = h.minKey()
      const v = h.pop()
      expect(k).toBe(keys.get(v))
      out.push(v)
    }
    expect(out.length).toBe(100)
    for (let i = 1; i < out.length; i++) expect(keys.get(out[i]!)!).toBeGreaterThanOrEqual(keys.get(out[i - 1]!)!)
  })
})

describe('GrowClient', () => {
  function smallRequest(): { input: GrowInput; box: GrowBox } {
    const s = lesionScene(12)
    const box = seedBox(s.allSeeds, s.dims, s.spacing, 3)!
    return { input: { ct: s.ct, dims: s.dims, spacing: s.spacing, seeds: s.allSeeds, box }, box }
  }

  /** A fake module worker: messages cross by structuredClone with the transfer list, as between threads. */
  class FakeWorker implements GrowWorkerLike {
    onmessage: ((e: MessageEvent<GrowReply>) => void) | null = null
    onerror: ((e: ErrorEvent) => void) | null = null
    terminated = false
    received: GrowRequest[] = []
    transferred: Transferable[][] = []
    constructor(private readonly delayMs = 0) {}
    postMessage(message: GrowRequest, transfer: Transferable[]): void {
      this.transferred.push(transfer)
      const arrived = structuredClone(message, { transfer: transfer as ArrayBuffer[] })
      this.received.push(arrived)
      setTimeout(() => {
        if (this.terminated) return
        const { reply, transfer: back } = answerGrowRequest(arrived)
        this.onmessage?.({ data: structuredClone(reply, { transfer: back }) } as MessageEvent<GrowReply>)
      }, this.delayMs)
    }
    terminate(): void {
      this.terminated = true
    }
  }

  it('works under Node without a Worker, with the result placed in the grid', async () => {
    const { input, box } = smallRequest()
    const client = new GrowClient()
    const r = await client.grow(input)
    const direct = growFromSeeds(input)
    expect(r.box).toEqual(box)
    expect(same(r.labels, direct.labels)).toBe(true)
    expect(r.roundTripMs).toBeGreaterThanOrEqual(r.ms)
    client.dispose()
  })

  it('transfers box-sized copies and leaves the page arrays attached', async () => {
    const { input, box } = smallRequest()
    const workers: FakeWorker[] = []
    const client = new GrowClient({ createWorker: () => (workers.push(new FakeWorker()), workers.at(-1)!) })
    const r = await client.grow(input)
    expect(workers.length).toBe(1)
    const sent = workers[0]!.received[0]!
    const [bx, by, bz] = [0, 1, 2].map((a) => box.max[a]! - box.min[a]! + 1)
    expect(sent.input.dims).toEqual([bx, by, bz])
    expect(sent.input.ct.length).toBe(bx! * by! * bz!)
    expect(sent.input.box).toBeUndefined()
    expect(workers[0]!.transferred[0]!.length).toBe(2) // ct and seeds (no locked mask)
    // the page's own arrays are untouched: full length, not detached
    expect(input.ct.length).toBe(72 * 72 * 28)
    expect(input.seeds.length).toBe(72 * 72 * 28)
    expect(r.box).toEqual(box)
    expect(same(r.labels, growFromSeeds(input).labels)).toBe(true)
    client.dispose()
    expect(workers[0]!.terminated).toBe(true)
  })

  it('a newer request supersedes an older one, and cancel ends one', async () => {
    const { input } = smallRequest()
    const workers: FakeWorker[] = []
    const client = new GrowClient({ createWorker: () => (workers.push(new FakeWorker(20)), workers.at(-1)!) })
    const first = client.grow(input)
    const second = client.grow({ ...input, seedLocality: 1 })
    await expect(first).rejects.toBeInstanceOf(GrowCancelledError)
    const r = await second
    expect(same(r.labels, growFromSeeds({ ...input, seedLocality: 1 }).labels)).toBe(true)
    // the worker busy with the first was terminated; the second ran on a fresh one
    expect(workers.length).toBe(2)
    expect(workers[0]!.terminated).toBe(true)

    const third = client.grow(input)
    expect(client.busy).toBe(true)
    client.cancel()
    await expect(third).rejects.toThrow(/cancelled/)
    expect(client.busy).toBe(false)
    client.dispose()
    await expect(client.grow(input)).rejects.toThrow(/disposed/)
  })

  it('supersedes on this thread too, and reports errors as rejections', async () => {
    const { input } = smallRequest()
    const client = new GrowClient({ createWorker: null })
    const first = client.grow(input)
    const second = client.grow(input)
    await expect(first).rejects.toBeInstanceOf(GrowCancelledError)
    await expect(second).resolves.toBeDefined()
    await expect(client.grow({ ...input, box: { min: [100, 0, 0], max: [120, 5, 5] } })).rejects.toThrow(/empty box/)
    await expect(client.grow({ ...input, spacing: [0, 1, 1], box: undefined })).rejects.toThrow(/spacing/)
  })
})

describe('GrowController: which labels the growth may take over', () => {
  // a 40x30x8 scene of one tissue (60 HU) in air: the left half unlabelled, the right half spleen (3)
  const dims: Vec3 = [40, 30, 8]
  const spacing: Vec3 = [2, 2, 2]
  function scene() {
    const n = dims[0] * dims[1] * dims[2]
    const ct = new Int16Array(n).fill(-1000)
    const labels = new Uint8Array(n)
    for (let k = 0; k < dims[2]; k++)
      for (let j = 5; j < 25; j++)
        for (let i = 5; i < 35; i++) {
          ct[idx(dims, i, j, k)] = 60
          if (i >= 20) labels[idx(dims, i, j, k)] = 3
        }
    const session = new EditSession(gridFromArray(dims, spacing, labels), { dims, data: ct })
    return { session, grow: new GrowController(session), labels: () => gridToArray(session.grid) }
  }
  const count = (a: Uint8Array, v: number) => a.reduce((c, x) => c + (x === v ? 1 : 0), 0)

  it('liver seeds next to a spleen nobody seeded grow into the unlabelled tissue only: the spleen stays whole', async () => {
    const { grow, labels } = scene()
    const spleen = count(labels(), 3)
    labelsStore.setState({ activeValue: 1 })
    editStore.setState({ growBackground: false })
    grow.paintSeeds(sphere([10, 15, 4], 4, spacing))
    editStore.setState({ growBackground: true })
    grow.paintSeeds(sphere([2, 2, 4], 2, spacing)) // background in the air
    await grow.runPreview()
    const after = labels()
    expect(count(after, 3)).toBe(spleen)
    expect(count(after, 1)).toBeGreaterThan(0.9 * 15 * 20 * dims[2]) // the unlabelled half of the tissue
    grow.cancel()
  })

  it('seeds painted on a label may take it over (a lesion seeded inside an organ grows into it)', async () => {
    const { grow, labels } = scene()
    labelsStore.setState({ activeValue: 5 })
    editStore.setState({ growBackground: false })
    grow.paintSeeds(sphere([27, 15, 4], 4, spacing)) // on the spleen
    editStore.setState({ growBackground: true })
    grow.paintSeeds(sphere([2, 2, 4], 2, spacing))
    await grow.runPreview()
    const after = labels()
    // label 5 took the spleen it was seeded on (the tissue is one: nothing tells them apart)
    let inSpleen = 0
    for (let k = 0; k < dims[2]; k++) for (let j = 5; j < 25; j++) for (let i = 20; i < 35; i++) if (after[idx(dims, i, j, k)] === 5) inSpleen++
    expect(inSpleen).toBeGreaterThan(0.9 * 15 * 20 * dims[2])
    grow.cancel()
    editStore.setState({ growBackground: false })
    labelsStore.setState({ activeValue: 1 })
  })
})
