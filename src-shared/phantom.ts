/**
 * Synthetic abdominal CT with organ truth, made in code so that tests and the demo need no
 * downloaded data. Anatomy is defined in patient (LPS, mm) coordinates around the body centre, so
 * the labels land on the same anatomy whatever grid (size, spacing, flips, oblique direction) is
 * asked for: that is what lets the inference tests check orientation handling.
 */
import { applyAffine, indexToWorldAffine, mat3MulVec } from './geometry.js'
import type { CtVolume, LabelVolume, Mat3, Vec3 } from './volume.js'
import { FLARE_LABELS } from './labels.js'

export interface PhantomOptions {
  dims?: Vec3
  spacing?: Vec3
  direction?: Mat3
  /** world position of the grid centre; the body is centred on world (0,0,0) */
  centre?: Vec3
  seed?: number
  /** HU noise standard deviation */
  noise?: number
  /** scales the anatomy (1 = adult abdomen, ~320 mm wide) */
  scale?: number
  /** focal liver lesions (world LPS mm): their HU replaces the liver's; the labels stay liver, as in
   *  organ datasets (FLARE) where tumours belong to their organ */
  lesions?: { centre: Vec3; radii: Vec3; hu: number }[]
  /** a chest above the liver: a diaphragm that caps the organs, lungs, and a heart on the liver's dome
   *  whose muscle is as dense as liver (without it the abdomen goes on upwards) */
  thorax?: boolean
}

export interface Phantom {
  ct: CtVolume
  labels: LabelVolume
}

/** Deterministic PRNG (mulberry32). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

interface Ellipsoid { c: Vec3; r: Vec3 }

const LIVER = FLARE_LABELS.find((l) => l.name === 'liver')!.value
const KIDNEY = FLARE_LABELS.find((l) => l.name === 'kidney')!.value
const SPLEEN = FLARE_LABELS.find((l) => l.name === 'spleen')!.value
const PANCREAS = FLARE_LABELS.find((l) => l.name === 'pancreas')!.value

/** Organ HU means, as in contrast-enhanced portal-venous CT. */
export const PHANTOM_HU = { air: -1000, fat: -100, muscle: 50, bone: 450, liver: 100, kidney: 160, spleen: 120, pancreas: 80, soft: 20, lung: -850, myocardium: 95, blood: 150 }

/** Height (LPS z, mm) of the diaphragm at (x, y): the right dome on the liver's top, the left one lower,
 *  the central tendon under the heart lowest, reaching further down at the back and the sides. */
export function diaphragmZ(x: number, y: number, s: number): number {
  const right = 103 * s
  const left = 91 * s
  const centre = 78 * s
  return centre + (right - centre) * Math.exp(-(((x + 60 * s) / (55 * s)) ** 2)) + (left - centre) * Math.exp(-(((x - 65 * s) / (50 * s)) ** 2))
    - 0.5 * Math.max(0, y - 10 * s) - 0.4 * Math.max(0, Math.abs(x) - 100 * s)
}
/** the diaphragm's thickness (mm) */
const DIAPHRAGM_MM = 5

function inside(e: Ellipsoid, x: number, y: number, z: number): number {
  const dx = (x - e.c[0]) / e.r[0]
  const dy = (y - e.c[1]) / e.r[1]
  const dz = (z - e.c[2]) / e.r[2]
  return dx * dx + dy * dy + dz * dz
}

export function generatePhantom(opts: PhantomOptions = {}): Phantom {
  const dims = opts.dims ?? [128, 128, 96]
  const spacing = opts.spacing ?? [3, 3, 3]
  const direction = opts.direction ?? [1, 0, 0, 0, 1, 0, 0, 0, 1]
  const centre = opts.centre ?? [0, 0, 0]
  const noise = opts.noise ?? 12
  const s = opts.scale ?? 1
  const rand = mulberry32(opts.seed ?? 1)
  const lesions = opts.lesions ?? []

  // origin so that the grid centre sits at `centre`
  const half: Vec3 = [((dims[0] - 1) * spacing[0]) / 2, ((dims[1] - 1) * spacing[1]) / 2, ((dims[2] - 1) * spacing[2]) / 2]
  const off = mat3MulVec(direction, half)
  const origin: Vec3 = [centre[0] - off[0], centre[1] - off[1], centre[2] - off[2]]
  const geometry = { dims, spacing, origin, direction }
  const A = indexToWorldAffine(geometry)

  // Anatomy (LPS mm): +x patient left, +y posterior, +z superior.
  const body: Ellipsoid = { c: [0, 0, 0], r: [160 * s, 115 * s, 1e9] }
  const muscleWall: Ellipsoid = { c: [0, 0, 0], r: [145 * s, 100 * s, 1e9] }
  const cavity: Ellipsoid = { c: [0, -5 * s, 0], r: [130 * s, 85 * s, 1e9] }
  const liver: Ellipsoid = { c: [-65 * s, -5 * s, 45 * s], r: [70 * s, 70 * s, 65 * s] }
  const spleen: Ellipsoid = { c: [85 * s, 40 * s, 55 * s], r: [30 * s, 40 * s, 50 * s] }
  const kidneyR: Ellipsoid = { c: [-60 * s, 55 * s, -15 * s], r: [26 * s, 26 * s, 55 * s] }
  const kidneyL: Ellipsoid = { c: [60 * s, 55 * s, -5 * s], r: [26 * s, 26 * s, 55 * s] }
  const spine: Ellipsoid = { c: [0, 75 * s, 0], r: [20 * s, 18 * s, 1e9] }
  const heart: Ellipsoid = { c: [15 * s, -30 * s, 118 * s], r: [60 * s, 45 * s, 50 * s] }
  const thorax = opts.thorax ?? false
  // pancreas: a capsule from head (near the duodenum, right of midline) to tail (at the spleen)
  const p0: Vec3 = [-15 * s, 10 * s, 5 * s]
  const p1: Vec3 = [70 * s, 30 * s, 30 * s]
  const pr = 13 * s
  const pd: Vec3 = [p1[0] - p0[0], p1[1] - p0[1], p1[2] - p0[2]]
  const pl2 = pd[0] * pd[0] + pd[1] * pd[1] + pd[2] * pd[2]

  const n = dims[0] * dims[1] * dims[2]
  const ct = new Int16Array(n)
  const labels = new Uint8Array(n)
  let idx = 0
  let spare = NaN
  const gauss = () => {
    if (!Number.isNaN(spare)) {
      const v = spare
      spare = NaN
      return v
    }
    const u = Math.max(rand(), 1e-12)
    const v = rand()
    const r = Math.sqrt(-2 * Math.log(u))
    spare = r * Math.sin(2 * Math.PI * v)
    return r * Math.cos(2 * Math.PI * v)
  }
  for (let k = 0; k < dims[2]; k++) {
    for (let j = 0; j < dims[1]; j++) {
      const p = applyAffine(A, [0, j, k])
      let x = p[0]
      let y = p[1]
      let z = p[2]
      for (let i = 0; i < dims[0]; i++, idx++) {
        let hu: number = PHANTOM_HU.air
        let lab = 0
        if (inside(body, x, y, z) <= 1) {
          hu = PHANTOM_HU.fat
          if (inside(muscleWall, x, y, z) <= 1) hu = PHANTOM_HU.muscle
          if (inside(cavity, x, y, z) <= 1) {
            hu = PHANTOM_HU.soft + 25 * Math.sin(x * 0.05) * Math.cos(y * 0.07) // bowel/fat texture
            if (inside(spine, x, y, z) <= 1) hu = PHANTOM_HU.bone
            // ribs: thin rings every 25 mm in the upper abdomen
            const ring = inside(cavity, x, y, z)
            const rib = z > 20 * s && ring > 0.88 && ((z / s) % 25 + 25) % 25 < 8
            if (rib) hu = PHANTOM_HU.bone + 150
            const dome = thorax && z > 20 * s ? diaphragmZ(x, y, s) : Infinity
            if (z > dome) {
              // the chest: lungs around the heart and the mediastinum; no organ label up here
              const h = inside(heart, x, y, z)
              if (h <= 0.2) hu = PHANTOM_HU.blood
              else if (h <= 1) hu = PHANTOM_HU.myocardium
              else if (h <= 1.25) hu = PHANTOM_HU.fat
              else if (Math.abs(x - 5 * s) < 30 * s && y > -15 * s) hu = inside(spine, x, y, z) <= 1 ? PHANTOM_HU.bone : PHANTOM_HU.soft
              else if (!rib) hu = PHANTOM_HU.lung + 30 * Math.sin(x * 0.3) * Math.cos(z * 0.25)
            } else if (z > dome - DIAPHRAGM_MM) {
              if (!rib && inside(spine, x, y, z) > 1) hu = PHANTOM_HU.muscle
            } else {
              const t = Math.max(0, Math.min(1, ((x - p0[0]) * pd[0] + (y - p0[1]) * pd[1] + (z - p0[2]) * pd[2]) / pl2))
              const qx = x - (p0[0] + t * pd[0])
              const qy = y - (p0[1] + t * pd[1])
              const qz = z - (p0[2] + t * pd[2])
              if (qx * qx + qy * qy + qz * qz <= pr * pr) {
                hu = PHANTOM_HU.pancreas
                lab = PANCREAS
              } else if (inside(liver, x, y, z) <= 1 && !(x > -20 * s && y > 20 * s)) {
                hu = PHANTOM_HU.liver + 8 * Math.sin(y * 0.2) * Math.sin(z * 0.15)
                lab = LIVER
                for (const l of lesions) if (inside({ c: l.centre, r: l.radii }, x, y, z) <= 1) hu = l.hu
              } else if (inside(spleen, x, y, z) <= 1) {
                hu = PHANTOM_HU.spleen
                lab = SPLEEN
              } else if (inside(kidneyR, x, y, z) <= 1 || inside(kidneyL, x, y, z) <= 1) {
                // renal sinus fat in the medial centre of each kidney
                const kc = x < 0 ? kidneyR : kidneyL
                const sinus = Math.abs(z - kc.c[2]) < 20 * s && (x < 0 ? x > kc.c[0] + 8 * s : x < kc.c[0] - 8 * s)
                hu = sinus ? PHANTOM_HU.fat + 40 : PHANTOM_HU.kidney
                lab = KIDNEY
              }
            }
          }
        }
        const v = Math.round(hu + (noise > 0 ? noise * gauss() : 0))
        ct[idx] = v < -1024 ? -1024 : v > 3071 ? 3071 : v
        labels[idx] = lab
        x += A[0]
        y += A[4]
        z += A[8]
      }
    }
  }
  const meta = { modality: 'CT', description: 'SCN Studio synthetic abdomen phantom' }
  return {
    ct: { ...geometry, data: ct, meta },
    labels: { ...geometry, dims: [...dims] as Vec3, spacing: [...spacing] as Vec3, origin: [...origin] as Vec3, direction: [...direction] as Mat3, data: labels, meta: { description: 'phantom truth' } },
  }
}
