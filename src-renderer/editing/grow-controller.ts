/**
 * Grow from seeds, as the user works it (Slicer's Segment Editor effect of that name):
 *  1. with the tool active, brush strokes paint SEEDS, not labels: for the active label, or for
 *     "background" (the options row's toggle); they show as dots on the views and change nothing;
 *  2. Preview grows every seeded label at once over the seeds' box (plus a margin) in a worker
 *     (grow-from-seeds.ts: fast GrowCut on the smoothed CT); with one label's seeds only, the box's
 *     border is the background. The result goes into the labelmap as ONE undo step;
 *  3. more strokes and Preview again replace that step (refine); Accept keeps it and clears the
 *     seeds; Cancel takes it back.
 * Voxels grown as background keep what they had (a lesion grown inside the liver never erases the
 * liver around it), and locked labels are walls the growth neither enters nor changes. So is every
 * other label the user did not seed on: the seeded labels may take over only the labels their seeds
 * lie on (a lesion seeded inside the liver grows into the liver) and unlabelled voxels, never a
 * neighbouring organ nobody touched (liver seeds next to the spleen used to turn the spleen into liver).
 */
import { editStore } from '../store/edit-store.js'
import { labelName, labelsStore, lockedValues } from '../store/labels-store.js'
import { DEFAULT_BACKGROUND, type GrowBox } from './grow-from-seeds.js'
import { GrowCancelledError, GrowClient } from './grow-client.js'
import type { Vec3 } from './grid.js'
import { PatchBuilder, type Patch } from './patch.js'
import type { EditSession } from './session.js'
import type { Shape } from './strategies.js'

/** How far the grown region may reach beyond the seeds' box, mm (a lesion stroke sits inside the lesion). */
export const GROW_MARGIN_MM = 25

export class GrowController {
  /** voxel index -> seed value (a label, or DEFAULT_BACKGROUND) */
  readonly seeds = new Map<number, number>()
  private client: GrowClient | null = null
  /** the preview's patch while it is the last undo step */
  private preview: Patch | null = null

  constructor(private readonly session: EditSession) {}

  /** One brush dab of seeds (the active label, or background). */
  paintSeeds(shape: Shape): void {
    const value = editStore.getState().growBackground ? DEFAULT_BACKGROUND : labelsStore.getState().activeValue
    const [nx, ny] = this.session.grid.dims
    shape.forEach(this.session.grid.dims, (i, j, k) => {
      this.seeds.set(i + nx * (j + ny * k), value)
    })
    this.publish()
  }

  private publish(extra: Partial<ReturnType<typeof editStore.getState>['grow']> = {}): void {
    const labels = new Set([...this.seeds.values()].filter((v) => v !== DEFAULT_BACKGROUND))
    editStore.setState((s) => ({ grow: { ...s.grow, seeds: this.seeds.size, seedLabels: [...labels].sort((a, b) => a - b), previewing: this.preview !== null, ...extra } }))
  }

  /** The seeds' box grown by the margin, clamped to the grid. */
  private box(): GrowBox | null {
    if (!this.seeds.size) return null
    const [nx, ny, nz] = this.session.grid.dims
    const min: Vec3 = [nx, ny, nz]
    const max: Vec3 = [-1, -1, -1]
    for (const idx of this.seeds.keys()) {
      const k = Math.floor(idx / (nx * ny))
      const r = idx - k * nx * ny
      const j = Math.floor(r / nx)
      const p = [r - j * nx, j, k]
      for (let a = 0; a < 3; a++) {
        if (p[a]! < min[a]!) min[a] = p[a]!
        if (p[a]! > max[a]!) max[a] = p[a]!
      }
    }
    const sp = this.session.grid.spacing
    const dims = this.session.grid.dims
    for (let a = 0; a < 3; a++) {
      const m = Math.ceil(GROW_MARGIN_MM / sp[a]!)
      min[a] = Math.max(0, min[a]! - m)
      max[a] = Math.min(dims[a]! - 1, max[a]! + m)
    }
    return { min, max }
  }

  /** Grows the seeded labels and shows the result (replacing a preview that is still the last step). */
  async runPreview(): Promise<void> {
    const box = this.box()
    if (!box) {
      editStore.setState({ notice: 'Paint seeds first: strokes inside the structure (and, for a tight result, around it with background or a neighbouring label).' })
      return
    }
    const { ct, grid } = this.session
    const [nx, ny] = grid.dims
    const bd: Vec3 = [box.max[0] - box.min[0] + 1, box.max[1] - box.min[1] + 1, box.max[2] - box.min[2] + 1]
    const n = bd[0] * bd[1] * bd[2]
    const boxCt = ct.data instanceof Float32Array ? new Float32Array(n) : new Int16Array(n)
    const seeds = new Uint8Array(n)
    const locked = new Uint8Array(n)
    const lockedSet = lockedValues()
    // labels the growth may change: the seeded ones, and those their seeds were painted on
    const open = new Set<number>([0])
    for (const [idx, v] of this.seeds) {
      if (v === DEFAULT_BACKGROUND) continue
      open.add(v)
      const k = Math.floor(idx / (nx * ny))
      open.add(grid.slices[k]![idx - k * nx * ny]!)
    }
    let o = 0
    for (let k = box.min[2]; k <= box.max[2]; k++) {
      const slice = grid.slices[k]!
      for (let j = box.min[1]; j <= box.max[1]; j++) {
        for (let i = box.min[0]; i <= box.max[0]; i++, o++) {
          const off = i + nx * j
          boxCt[o] = ct.data[off + nx * ny * k]!
          if (lockedSet.has(slice[off]!) || !open.has(slice[off]!)) locked[o] = 1
          const s = this.seeds.get(off + nx * ny * k)
          if (s !== undefined) seeds[o] = s
        }
      }
    }
    this.client ??= new GrowClient()
    this.publish({ busy: true })
    let result
    try {
      // box-sized copies made here for this call: the client transfers them without copying again
      result = await this.client.grow({ ct: boxCt, dims: bd, spacing: grid.spacing, seeds, locked, backgroundValue: DEFAULT_BACKGROUND }, { owned: true })
    } catch (e) {
      if (e instanceof GrowCancelledError) return
      this.publish({ busy: false })
      editStore.setState({ notice: `Grow from seeds failed: ${(e as Error).message}` })
      return
    }
    // a refinement replaces the previous preview, if nothing was done after it
    if (this.preview && this.session.history.nextUndo === this.preview) this.session.undo()
    this.preview = null
    const b = new PatchBuilder(grid)
    o = 0
    for (let k = box.min[2]; k <= box.max[2]; k++) {
      for (let j = box.min[1]; j <= box.max[1]; j++) {
        for (let i = box.min[0]; i <= box.max[0]; i++, o++) {
          const v = result.labels[o]!
          // background keeps what was there; locked voxels never change
          if (v !== 0 && !locked[o]) b.write(k, i + nx * j, v)
        }
      }
    }
    const names = result.seedLabels.map((v) => labelName(v)).join(', ')
    const patch = b.build(`Grow from seeds: ${names}`)
    this.session.commit(patch)
    this.preview = patch.indices.length ? patch : null
    this.publish({ busy: false, lastMs: Math.round(result.roundTripMs), boxDims: bd, grown: patch.indices.length })
  }

  /** Keeps the preview (already one undo step) and starts afresh. */
  accept(): void {
    if (!this.preview) return
    this.preview = null
    this.seeds.clear()
    this.publish({ busy: false })
  }

  /** Takes the preview back (if it is still the last step) and drops the seeds. */
  cancel(): void {
    this.client?.cancel()
    if (this.preview && this.session.history.nextUndo === this.preview) this.session.undo()
    this.preview = null
    this.seeds.clear()
    this.publish({ busy: false })
  }

  /** Seed voxels on one slice of an index axis: (index, value) pairs for the overlay. */
  seedsOnSlice(normal: 0 | 1 | 2, index: number): [Vec3, number][] {
    const [nx, ny] = this.session.grid.dims
    const out: [Vec3, number][] = []
    for (const [idx, v] of this.seeds) {
      const k = Math.floor(idx / (nx * ny))
      const r = idx - k * nx * ny
      const j = Math.floor(r / nx)
      const p: Vec3 = [r - j * nx, j, k]
      if (p[normal] === index) out.push([p, v])
    }
    return out
  }

  dispose(): void {
    this.client?.dispose()
    this.client = null
    this.seeds.clear()
    this.preview = null
    this.publish({ busy: false })
  }
}
