/**
 * Hostile and unusual input to the volume readers (issue 18): relative paths and links, FIFOs and
 * devices posing as .dcm/.nii.gz, a gzip bomb (peak RSS measured in a child), NaN/Inf voxels,
 * data that is not HU, a gantry-tilted series compared with dcm2niix, and broken header fields.
 * Every fixture is made here, in code or with Debian's python3 (pydicom).
 */
import { describe, expect, it, beforeAll } from 'vitest'
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { gzipSync } from 'node:zlib'
import dcmjs from 'dcmjs'
import { writeImageNode } from '@itk-wasm/image-io'
import { readCt, readLabels, readVolume, describeVolume, writeVolume } from '../../src-main/volumes/read.js'
import { readNifti, encodeNifti } from '../../src-main/volumes/nifti.js'
import { encodeNrrd } from '../../src-main/volumes/nrrd.js'
import { VolumeError, type VolumeErrorCode } from '../../src-main/volumes/errors.js'
import { resolveInputPath } from '../../src-main/volumes/input.js'
import { column, indexToWorld, worldBounds, worldToIndex } from '../../src-shared/geometry.js'
import { generatePhantom } from '../../src-shared/phantom.js'
import type { CtVolume, Vec3, Volume } from '../../src-shared/volume.js'
import { writeDicomSeries } from '../fixtures/dicom-series.js'
import { PYTHON, hasPythonModules } from '../helpers/python.js'

const tmp = () => mkdtempSync(join(tmpdir(), 'scn-hostile-'))
const small = () => generatePhantom({ dims: [24, 20, 8], spacing: [10, 10, 10], noise: 0 }).ct
const has = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0
const hasPydicom = hasPythonModules('pydicom', 'numpy')
const CLI = (args: string[], cwd = process.cwd()) =>
  spawnSync(process.execPath, [join(process.cwd(), 'bin/scn-studio.mjs'), ...args], { cwd, encoding: 'utf8', timeout: 60_000 })

async function readError(path: string): Promise<VolumeError> {
  let err: unknown
  try {
    await readCt(path)
  } catch (e) {
    err = e
  }
  expect(err, `expected a VolumeError for ${path}`).toBeInstanceOf(VolumeError)
  return err as VolumeError
}

async function expectVolumeError(path: string, code: VolumeErrorCode, message: RegExp): Promise<VolumeError> {
  const ve = await readError(path)
  expect(ve.code, ve.message).toBe(code)
  expect(ve.message.startsWith(path)).toBe(true)
  expect(ve.message).toMatch(message)
  return ve
}

function mkfifo(path: string): void {
  const r = spawnSync('mkfifo', [path])
  expect(r.status, String(r.stderr)).toBe(0)
}

describe('relative paths and links (resolved once, at the boundary)', () => {
  let dir: string
  beforeAll(() => {
    dir = tmp()
    writeDicomSeries(small(), join(dir, 'data', 'series'))
  })

  it('resolveInputPath makes a path absolute against the working directory it was typed in', () => {
    expect(resolveInputPath('data/series', '/some/where')).toBe('/some/where/data/series')
    expect(resolveInputPath('/abs/ct.nii.gz', '/some/where')).toBe('/abs/ct.nii.gz')
  })

  it('info on a relative DICOM folder and a relative .dcm file matches the absolute path, from another working directory', () => {
    const abs = join(dir, 'data', 'series')
    const file = readdirSync(abs).sort()[3]
    for (const [rel, absPath] of [
      ['series', abs],
      [join('series', file), join(abs, file)],
    ]) {
      const a = CLI(['info', '--json', absPath])
      expect(a.status, a.stderr).toBe(0)
      const r = CLI(['info', '--json', rel], join(dir, 'data'))
      expect(r.status, r.stderr).toBe(0)
      // itk-wasm's own complaint ("Exception while running pipeline") must not reach stdout either
      expect(r.stdout).not.toMatch(/Exception while running pipeline/)
      const ja = JSON.parse(a.stdout)
      const jr = JSON.parse(r.stdout)
      expect(jr.path).toBe(absPath)
      expect(jr).toEqual(ja)
    }
  })

  it('a folder of symlinks to DICOM files (in another folder) is read like the files themselves', async () => {
    const links = join(dir, 'links')
    mkdirSync(links)
    const src = join(dir, 'data', 'series')
    for (const f of readdirSync(src)) symlinkSync(join(src, f), join(links, f))
    // a link to a device and a dangling link in the same folder are skipped, never opened
    symlinkSync('/dev/zero', join(links, 'zero.dcm'))
    symlinkSync(join(dir, 'nowhere.dcm'), join(links, 'dangling.dcm'))
    const viaLinks = await readCt(links)
    const direct = await readCt(src)
    expect(viaLinks.dims).toEqual(direct.dims)
    expect(Buffer.from(viaLinks.data.buffer).equals(Buffer.from(direct.data.buffer))).toBe(true)
    // and by a relative path through the CLI
    const r = CLI(['info', '--json', 'links'], dir)
    expect(r.status, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout).dims).toEqual(direct.dims)
  })
})

describe('only regular files are opened', () => {
  let dir: string
  beforeAll(() => {
    dir = tmp()
  })

  it.each(['fifo.dcm', 'IM0001', 'fifo.nii.gz', 'fifo.nii', 'fifo.nrrd', 'fifo.mha'])('a FIFO named %s is refused at once, naming the file', async (name) => {
    const f = join(dir, name)
    mkfifo(f)
    const t0 = Date.now()
    await expectVolumeError(f, 'not-regular-file', /not a regular file \(it is a FIFO/)
    expect(Date.now() - t0).toBeLessThan(3000)
  })

  it('a .dcm link to /dev/zero is refused, not read until memory runs out', async () => {
    const f = join(dir, 'zero.dcm')
    symlinkSync('/dev/zero', f)
    await expectVolumeError(f, 'not-regular-file', /not a regular file \(it is a character device/)
    const g = join(dir, 'null.nii.gz')
    symlinkSync('/dev/null', g)
    await expectVolumeError(g, 'not-regular-file', /character device/)
  })

  it('info and segment on a FIFO end at once with the message (no hang)', () => {
    const f = join(dir, 'cli-fifo.dcm')
    mkfifo(f)
    for (const args of [['info', f], ['segment', f, '-o', join(dir, 'out.nii.gz')]]) {
      const t0 = Date.now()
      const r = CLI(args)
      expect(r.signal, `${args[0]} hung on a FIFO`).toBeNull()
      expect(r.status).not.toBe(0)
      expect(r.stderr).toContain(`${f}: not a regular file (it is a FIFO`)
      expect(Date.now() - t0).toBeLessThan(30_000)
    }
  })

  it('a FIFO inside a DICOM folder is skipped and the series still reads', async () => {
    const d = join(dir, 'series-with-fifo')
    writeDicomSeries(small(), d)
    mkfifo(join(d, 'zz-fifo.dcm'))
    const v = await readCt(d)
    expect(v.dims).toEqual([24, 20, 8])
  })

  it('an NRRD or MetaImage header claiming a huge grid is refused before itk-wasm allocates it, with the size in words', async () => {
    const nrrd = join(dir, 'huge.nrrd')
    const head = 'NRRD0004\ntype: short\ndimension: 3\nsizes: 100000 100000 1000\nspace: left-posterior-superior\n' +
      'space directions: (1,0,0) (0,1,0) (0,0,1)\nspace origin: (0,0,0)\nencoding: gzip\n\n'
    writeFileSync(nrrd, Buffer.concat([Buffer.from(head, 'latin1'), gzipSync(Buffer.alloc(1000))]))
    await expectVolumeError(nrrd, 'too-large', /100000×100000×1000 voxels would need 18626\.5 GiB/)
    const mha = join(dir, 'huge.mha')
    const mhaHead = 'ObjectType = Image\nNDims = 3\nDimSize = 4000 4000 4000\nElementType = MET_FLOAT\nElementDataFile = LOCAL\n'
    writeFileSync(mha, Buffer.concat([Buffer.from(mhaHead, 'latin1'), Buffer.alloc(1000)]))
    await expectVolumeError(mha, 'too-large', /4000×4000×4000 voxels would need 238\.4 GiB/)
    const bad = join(dir, 'negative.nrrd')
    writeFileSync(bad, Buffer.concat([Buffer.from(head.replace('100000 100000 1000', '10 -5 3'), 'latin1'), gzipSync(Buffer.alloc(300))]))
    await expectVolumeError(bad, 'bad-format', /header's sizes "10 -5 3" is not a list of positive whole numbers/)
  })

  it('a file larger than the limit is refused before reading (SCN_STUDIO_MAX_FILE_BYTES)', async () => {
    const f = join(dir, 'big.nii')
    writeFileSync(f, encodeNifti(small(), false))
    process.env.SCN_STUDIO_MAX_FILE_BYTES = '1000'
    try {
      await expectVolumeError(f, 'too-large', /file is too large to open/)
    } finally {
      delete process.env.SCN_STUDIO_MAX_FILE_BYTES
    }
  })
})

/** Peak RSS (kB) of `scn-studio info <file>` in a child, from GNU time. */
function infoPeakRss(file: string): { status: number | null; stderr: string; maxRssKb: number } {
  const r = spawnSync('/usr/bin/time', ['-v', process.execPath, 'bin/scn-studio.mjs', 'info', file], { encoding: 'utf8', timeout: 120_000 })
  const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr)
  expect(m, r.stderr).not.toBeNull()
  return { status: r.status, stderr: r.stderr, maxRssKb: Number(m![1]) }
}

describe('bounded decompression', () => {
  let dir: string
  let bomb: string
  const members = 24 // x 64 MiB of zeros: inflates to 1.5 GiB from ~1.6 MB
  beforeAll(() => {
    dir = tmp()
    // A valid 32³ int16 NIfTI (64 KiB of voxels) followed by gzip members of zeros: one gzip
    // stream (members concatenate) that inflates far beyond what its header promises.
    const ct = generatePhantom({ dims: [32, 32, 32], spacing: [4, 4, 4], noise: 0 }).ct
    const zeros = gzipSync(Buffer.alloc(64 * 2 ** 20), { level: 9 })
    bomb = join(dir, 'bomb.nii.gz')
    writeFileSync(bomb, Buffer.concat([encodeNifti(ct, true), ...Array.from({ length: members }, () => zeros)]))
  })

  it('a .nii.gz that inflates past what its header promises is refused', async () => {
    await expectVolumeError(bomb, 'too-large', /inflates to more than the \d+ bytes the header promises \(352-byte header, vox_offset 352 and 32×32×32 int16 voxels\).*decompression bomb/)
  })

  it.skipIf(!has('/usr/bin/time'))('…with peak memory well under what it inflates to (info in a child, GNU time)', () => {
    const r = infoPeakRss(bomb)
    expect(r.status).not.toBe(0)
    expect(r.stderr).toMatch(/inflates to more than/)
    expect(r.maxRssKb / 1024, 'peak RSS in MB').toBeLessThan(600)
  })

  it.skipIf(!has('/usr/bin/time'))('a gzip NRRD whose data inflates past its header is bounded too (itk-wasm reads only the promised bytes)', () => {
    const zeros = gzipSync(Buffer.alloc(64 * 2 ** 20), { level: 9 })
    const hdr = 'NRRD0004\ntype: short\ndimension: 3\nsizes: 32 32 32\nspace directions: (1,0,0) (0,1,0) (0,0,1)\nkinds: domain domain domain\nendian: little\nencoding: gzip\nspace origin: (0,0,0)\n\n'
    const f = join(dir, 'bomb.nrrd')
    writeFileSync(f, Buffer.concat([Buffer.from(hdr, 'latin1'), ...Array.from({ length: members }, () => zeros)]))
    const r = infoPeakRss(f)
    expect(r.maxRssKb / 1024, 'peak RSS in MB').toBeLessThan(600)
  })

  it('an honest .nii.gz still reads (the limit is what the header promises plus a little)', async () => {
    const ct = generatePhantom({ dims: [32, 32, 32], spacing: [4, 4, 4], noise: 0 }).ct
    const f = join(dir, 'honest.nii.gz')
    // some writers pad the end: 4 KiB of trailing zeros is within the tolerance
    writeFileSync(f, gzipSync(Buffer.concat([encodeNifti(ct, false), Buffer.alloc(4096)])))
    const v = await readCt(f)
    expect(Array.from(v.data)).toEqual(Array.from(ct.data))
  })
})

function floatNifti(dims: Vec3, fill: (i: number) => number): Volume {
  const data = new Float32Array(dims[0] * dims[1] * dims[2])
  for (let i = 0; i < data.length; i++) data[i] = fill(i)
  return { dims, spacing: [2, 2, 2], origin: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1], data, meta: {} }
}

describe('NaN/Inf voxels and data that is not HU', () => {
  let dir: string
  beforeAll(() => {
    dir = tmp()
  })

  it('NaN and ±Inf voxels of a float CT are read as -1024 HU with a warning naming the count and the first position', async () => {
    const dims: Vec3 = [10, 8, 6]
    const at = (i: number, j: number, k: number) => i + j * 10 + k * 80
    const vol = floatNifti(dims, (i) => -1000 + (i % 500) * 2.5)
    vol.data[at(3, 2, 1)] = Number.NaN
    vol.data[at(9, 7, 5)] = Number.POSITIVE_INFINITY
    vol.data[at(0, 0, 4)] = Number.NEGATIVE_INFINITY
    const f = join(dir, 'nan.nii.gz')
    writeFileSync(f, encodeNifti(vol))
    const ct = await readCt(f)
    expect(ct.data.every((v) => Number.isFinite(v))).toBe(true)
    expect(ct.data[at(3, 2, 1)]).toBe(-1024)
    expect(ct.data[at(9, 7, 5)]).toBe(-1024)
    expect(ct.data[at(0, 0, 4)]).toBe(-1024)
    expect(ct.meta.warnings).toHaveLength(1)
    expect(ct.meta.warnings![0]).toBe(`${f}: 3 voxel(s) hold NaN or ±Infinity (the first at voxel [3, 2, 1]); they were read as -1024 HU (air)`)

    const info = await describeVolume(f)
    expect(info.range.every(Number.isFinite)).toBe(true)
    const r = CLI(['info', f])
    expect(r.status, r.stderr).toBe(0)
    const values = r.stdout.split('\n').find((l) => l.trim().startsWith('values'))
    expect(values).toMatch(/^\s+values\s+-1024 \.\. \d+(\.\d+)? \(float32\)$/) // never "-Infinity .. Infinity"
    expect(r.stdout).toMatch(/warning\s+.*3 voxel\(s\) hold NaN or ±Infinity/)
  })

  it('uint8 data with no rescale (0..255) is read with a warning that it does not look like HU', async () => {
    const ct = small()
    const u8: Volume = { ...ct, data: Uint8Array.from(ct.data, (v) => Math.max(0, Math.min(255, Math.round((v + 1000) / 8)))), meta: {} }
    const f = join(dir, 'uint8.nii.gz')
    writeFileSync(f, encodeNifti(u8))
    const v = await readCt(f)
    expect(v.meta.warnings?.join('\n')).toMatch(/does not look like Hounsfield units \(values 0 \.\. \d+: they are 8-bit values with no rescale\)/)
  })

  it('integer data with no negative value (raw 0..4095 without its rescale) is warned about too', async () => {
    const ct = small()
    const raw: CtVolume = { ...ct, data: Int16Array.from(ct.data, (v) => Math.min(4095, v + 1024)), meta: {} }
    const f = join(dir, 'raw12bit.nii.gz')
    writeFileSync(f, encodeNifti(raw))
    const v = await readCt(f)
    expect(v.meta.warnings?.join('\n')).toMatch(/does not look like Hounsfield units \(values 24 \.\. \d+: none is below 0/)
  })

  it('a lost rescale intercept is caught even with padding outside the reconstruction circle (the only negative values)', async () => {
    // as a scanner stores it: -2000 in the corners outside the circle, the rest HU + 1024
    const p = generatePhantom({ dims: [48, 48, 12], spacing: [8, 8, 10], noise: 10 }).ct
    const outside = (i: number) => {
      const x = (i % 48) - 23.5
      const y = (Math.floor(i / 48) % 48) - 23.5
      return x * x + y * y > 24 * 24
    }
    const lost: CtVolume = { ...p, data: Int16Array.from(p.data, (v, i) => (outside(i) ? -2000 : v + 1024)), meta: {} }
    const f = join(dir, 'lost-intercept.nii.gz')
    writeFileSync(f, encodeNifti(lost))
    expect((await readCt(f)).meta.warnings?.join('\n')).toMatch(/does not look like Hounsfield units \(values -2000 \.\. \d+: apart from padding below -1100, the lowest 1 % is at -?\d+: no air .* as when the rescale intercept was lost\)/)
    // the same CT with its intercept (padding -3024 HU outside the circle), and a field of view
    // inside the body (fat, no air) are HU: no warning
    const hu: CtVolume = { ...p, data: Int16Array.from(p.data, (v, i) => (outside(i) ? -3024 : v)), meta: {} }
    writeFileSync(join(dir, 'hu-padded.nii.gz'), encodeNifti(hu))
    expect((await readCt(join(dir, 'hu-padded.nii.gz'))).meta.warnings).toBeUndefined()
    const inside: CtVolume = { ...p, data: Int16Array.from(p.data, (v, i) => (i % 10 === 0 ? -100 : Math.max(v, 20))), meta: {} }
    writeFileSync(join(dir, 'hu-inside.nii.gz'), encodeNifti(inside))
    expect((await readCt(join(dir, 'hu-inside.nii.gz'))).meta.warnings).toBeUndefined()
  })

  it("a NIfTI whose sform and qform disagree is read by its sform, with a warning that says by how much", async () => {
    const bytes = Buffer.from(encodeNifti(small(), false))
    const f = join(dir, 'forms-agree.nii')
    writeFileSync(f, bytes)
    expect((await readCt(f)).meta.warnings).toBeUndefined()
    // qoffset_x (byte 268) moved 50 mm: the qform now puts the CT 50 mm to the side
    bytes.writeFloatLE(bytes.readFloatLE(268) + 50, 268)
    const g = join(dir, 'forms-disagree.nii')
    writeFileSync(g, bytes)
    const v = await readCt(g)
    expect(v.origin).toEqual((await readCt(f)).origin) // the sform's geometry, unchanged
    expect(v.meta.warnings?.join('\n')).toMatch(/forms-disagree\.nii: the header's two orientations \(sform and qform\) disagree by up to 50\.0 mm; SCN Studio uses the sform/)
  })

  it('a CT in HU gets no warning', async () => {
    const f = join(dir, 'hu.nii.gz')
    writeFileSync(f, encodeNifti(small()))
    expect((await readCt(f)).meta.warnings).toBeUndefined()
  })
})

interface TiltedSeries {
  dir: string
  ball: Vec3
}

function makeTilted(dir: string, tiltDeg: number, extra: string[] = []): TiltedSeries {
  const r = spawnSync(PYTHON, ['test/fixtures/make-tilted-dicom.py', dir, String(tiltDeg), ...extra], { encoding: 'utf8' })
  expect(r.status, r.stderr).toBe(0)
  return { dir, ball: r.stdout.trim().split(/\s+/).map(Number) as Vec3 }
}

/** Centre of mass (LPS mm) of the voxels above 0 HU: where the ball landed. */
function ballCentre(v: Volume): Vec3 {
  const [nx, ny, nz] = v.dims
  const s: Vec3 = [0, 0, 0]
  let n = 0
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++) {
        const x = v.data[i + nx * (j + ny * k)]
        if (x <= 0) continue
        const w = indexToWorld(v, [i, j, k])
        for (let a = 0; a < 3; a++) s[a] += w[a]
        n++
      }
    }
  }
  return s.map((x) => x / n) as Vec3
}

const dist = (a: Vec3, b: Vec3) => Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2])

describe.skipIf(!hasPydicom || !has('dcm2niix'))('gantry-tilted and drifting DICOM stacks', () => {
  let root: string
  beforeAll(() => {
    root = tmp()
  })

  it('a 20° tilted series (pydicom) is resampled onto the same orthogonal grid as dcm2niix, with a warning', async () => {
    const s = makeTilted(join(root, 'tilt20'), 20)
    const ours = await readCt(s.dir)
    expect(ours.meta.warnings).toHaveLength(1)
    expect(ours.meta.warnings![0]).toMatch(new RegExp(`^${s.dir}: the slice positions step 20\\.0° off the slice normal \\(gantry tilt.*up to 12\\.83 mm.*orthogonal grid \\(64×77×16`))

    const out = join(root, 'dcm2niix')
    mkdirSync(out)
    const r = spawnSync('dcm2niix', ['-z', 'n', '-f', 'out', '-o', out, s.dir], { encoding: 'utf8' })
    expect(r.status, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/gantry tilt of 20 degrees/)
    const ref = readNifti(join(out, 'out_Tilt_1.nii'))

    // same grid up to dcm2niix's row flip: same dims and spacing per axis, axes parallel, same
    // world box of voxel centres
    expect(ours.dims).toEqual(ref.dims)
    for (let a = 0; a < 3; a++) {
      expect(ours.spacing[a]).toBeCloseTo(ref.spacing[a], 3)
      const c1 = column(ours.direction, a)
      const c2 = column(ref.direction, a)
      expect(Math.abs(c1[0] * c2[0] + c1[1] * c2[1] + c1[2] * c2[2])).toBeCloseTo(1, 4)
    }
    const b1 = worldBounds(ours)
    const b2 = worldBounds(ref)
    for (let a = 0; a < 3; a++) {
      expect(Math.abs(b1.min[a] - b2.min[a])).toBeLessThan(0.05)
      expect(Math.abs(b1.max[a] - b2.max[a])).toBeLessThan(0.05)
    }
    // voxel for voxel: each of our voxel centres is a voxel centre of dcm2niix's grid, same HU
    let diff = 0
    const [nx, ny, nz] = ours.dims
    for (let k = 0; k < nz; k++) {
      for (let j = 0; j < ny; j++) {
        for (let i = 0; i < nx; i++) {
          const q = worldToIndex(ref, indexToWorld(ours, [i, j, k])).map((x) => Math.round(x))
          const v2 = ref.data[q[0] + ref.dims[0] * (q[1] + ref.dims[1] * q[2])]
          diff += Math.abs(ours.data[i + nx * (j + ny * k)] - v2)
        }
      }
    }
    expect(diff / ours.data.length, 'mean |HU difference| to dcm2niix').toBeLessThan(5)

    // and the ball is where the scanner put it (before: 2+ mm off)
    expect(dist(ballCentre(ours), s.ball)).toBeLessThan(0.3)
    expect(dist(ballCentre(ref), s.ball)).toBeLessThan(0.3)
  })

  it('info shows the warning and the resampled grid', () => {
    const s = makeTilted(join(root, 'tilt20-info'), 20)
    const r = CLI(['info', '--json', s.dir])
    expect(r.status, r.stderr).toBe(0)
    const j = JSON.parse(r.stdout)
    expect(j.dims).toEqual([64, 77, 16])
    expect(j.warnings[0]).toMatch(/gantry tilt/)
  })

  it('a stack whose positions drift sideways is resampled too, never placed on the wrong grid silently', async () => {
    const s = makeTilted(join(root, 'drift'), 0, ['--drift', '0.4'])
    const v = await readCt(s.dir)
    expect(v.meta.warnings?.[0]).toMatch(/step \d+\.\d° off the slice normal.*up to 6\.00 mm/)
    expect(dist(ballCentre(v), s.ball)).toBeLessThan(0.3)
  })

  it('a tilted label series (a reference mask stored as images) keeps its labels, lines up with its CT and is evaluate truth', async () => {
    const ct = makeTilted(join(root, 'tilt20-ct'), 20)
    const lab = makeTilted(join(root, 'tilt20-labels'), 20, ['--labels'])
    const ctv = await readCt(ct.dir)
    const labels = await readLabels(lab.dir)
    expect(labels.meta.warnings?.[0]).toMatch(/gantry tilt.*nearest pixel, label 0 where no slice data/)
    // the CT's grid, voxel for voxel
    expect(labels.dims).toEqual(ctv.dims)
    for (let a = 0; a < 3; a++) {
      expect(labels.origin[a]).toBeCloseTo(ctv.origin[a], 4)
      expect(labels.spacing[a]).toBeCloseTo(ctv.spacing[a], 4)
    }
    expect(labels.direction.map((x) => +x.toFixed(6))).toEqual(ctv.direction.map((x) => +x.toFixed(6)))
    // only the stored values (linear interpolation made 2 where 1 met 3, and -1024 beyond the slices)
    const seen = new Set(labels.data)
    expect([...seen].sort()).toEqual([0, 1, 3])
    // label 1 is the CT's ball
    let both = 0
    let sum = 0
    for (let i = 0; i < ctv.data.length; i++) {
      const inBall = ctv.data[i] > 0
      both += inBall && labels.data[i] === 1 ? 1 : 0
      sum += (inBall ? 1 : 0) + (labels.data[i] === 1 ? 1 : 0)
    }
    expect((2 * both) / sum).toBeGreaterThan(0.95)
    // evaluate: the CT's ball as a NIfTI prediction scored against the tilted DICOM truth
    const pred = join(root, 'tilt20-pred.nii.gz')
    await writeVolume({ ...ctv, data: Uint8Array.from(ctv.data, (v) => (v > 0 ? 1 : 0)) }, pred)
    const r = CLI(['evaluate', pred, lab.dir, '--labels', '1,3', '--json'])
    expect(r.status, r.stderr).toBe(0)
    const organs = JSON.parse(r.stdout).organs as { label: number; dice: number; volumeTruthMl: number; volumePredMl: number }[]
    expect(organs[0].dice).toBeGreaterThan(0.95)
    expect(organs[1].volumeTruthMl).toBeGreaterThan(0.3) // label 3 read as 3
    expect(organs[1].volumePredMl).toBe(0)
  })

  it('an untilted series is not resampled and gets no warning', async () => {
    const s = makeTilted(join(root, 'tilt0'), 0)
    const v = await readCt(s.dir)
    expect(v.meta.warnings).toBeUndefined()
    expect(v.dims).toEqual([64, 64, 16])
    expect(dist(ballCentre(v), s.ball)).toBeLessThan(0.3)
  })
})

describe('broken header fields', () => {
  let dir: string
  beforeAll(() => {
    dir = tmp()
  })

  it.each([
    ['NaN', Number.NaN],
    ['inside the header', 100],
    ['negative', -352],
    ['fractional', 352.5],
  ])('NIfTI vox_offset %s is refused naming the field', async (_name, value) => {
    const b = encodeNifti(small(), false)
    b.writeFloatLE(value, 108)
    const f = join(dir, `voxoffset-${String(value)}.nii`)
    writeFileSync(f, b)
    await expectVolumeError(f, 'bad-format', new RegExp(`header field vox_offset is ${String(Math.fround(value))}`))
  })

  /** The phantom as an NRRD whose `space directions` line is replaced. */
  function nrrdWithDirections(name: string, directions: string): string {
    const b = encodeNrrd(small())
    const text = b.toString('latin1')
    const end = text.indexOf('\n\n') + 2
    const f = join(dir, `${name}.nrrd`)
    writeFileSync(f, Buffer.concat([Buffer.from(text.slice(0, end).replace(/^space directions: .*$/m, `space directions: ${directions}`), 'latin1'), b.subarray(end)]))
    return f
  }

  it.each([
    ['parallel axes', '(10,0,0) (10,0,0) (0,0,10)', 'bad-geometry', /the orientation is unusable: the direction \(1, 1, 0, 0, 0, 0, 0, 0, 1\) is not three perpendicular unit axes/],
    ['sheared axes', '(10,0,0) (0,10,0.5) (0,0,10)', 'bad-geometry', /the orientation is unusable: the direction .* is not three perpendicular unit axes/],
    ['an image axis without a direction', 'none (0,10,0) (0,0,10)', 'bad-geometry', /image axis 1 no space direction \("none"\), so its voxel spacing is unknown/],
    ['a zero vector', '(10,0,0) (0,0,0) (0,0,10)', 'bad-geometry', /space direction for image axis 2 is \(0,0,0\)/],
    ['a length ITK cannot hold', '(1e308,0,0) (0,10,0) (0,0,10)', 'bad-spacing', /axis 1 gives a voxel spacing of 1e\+308 mm, which ITK reads as 1/],
  ] as const)('NRRD space directions with %s are refused (ITK read them quietly as another grid)', async (name, directions, code, message) => {
    await expectVolumeError(nrrdWithDirections(name.replace(/ /g, '-'), directions), code, message)
  })

  it('NRRD with ordinary space directions reads (control), and a file ITK rejects gets words, not a number', async () => {
    expect((await readCt(nrrdWithDirections('ordinary', '(0,10,0) (-10,0,0) (0,0,10)'))).spacing).toEqual([10, 10, 10])
    // oblique directions written to 3 decimals (text headers round): not perpendicular to 1e-4, still read
    const oblique = await readCt(nrrdWithDirections('oblique-3-decimals', '(8.237,5.491,1.414) (-5.654,7.703,2.950) (0.528,-3.215,9.454)'))
    expect(oblique.spacing.map((x) => +x.toFixed(2))).toEqual([10, 10, 10])
    const b = encodeNrrd(small())
    const f = join(dir, 'bad-encoding.nrrd')
    writeFileSync(f, Buffer.from(b.toString('latin1').replace(/^encoding: .*$/m, 'encoding: foo'), 'latin1'))
    await expectVolumeError(f, 'bad-format', /this NRRD file could not be read: it is damaged, truncated or not a NRRD image \(the reader gave no reason\)$/)
  })

  /** The phantom as a MetaImage (written by ITK) with one header line replaced. */
  async function metaImageWith(name: string, key: string, line: string): Promise<string> {
    const v = small()
    const f = join(dir, `${name}.mha`)
    await writeImageNode(
      { imageType: { dimension: 3, componentType: 'int16', pixelType: 'Scalar', components: 1 }, name: 'ct', origin: [...v.origin], spacing: [...v.spacing], direction: new Float64Array(v.direction), size: [...v.dims], data: v.data, metadata: new Map() },
      f,
    )
    const b = readFileSync(f)
    const end = b.indexOf('ElementDataFile = LOCAL\n') + 'ElementDataFile = LOCAL\n'.length
    const header = b.subarray(0, end).toString('latin1').replace(new RegExp(`^${key} = .*$`, 'm'), line)
    expect(header).toContain(line)
    writeFileSync(f, Buffer.concat([Buffer.from(header, 'latin1'), b.subarray(end)]))
    return f
  }

  it.each([
    ['a scaled direction', 'TransformMatrix', 'TransformMatrix = 2 0 0 0 2 0 0 0 2', 'bad-geometry', /the direction \(2, 0, 0, 0, 2, 0, 0, 0, 2\) is not three perpendicular unit axes/],
    ['a NaN origin', 'Offset', 'Offset = nan 0 0', 'bad-geometry', /the origin \(NaN, 0, 0\) is not a finite position/],
    ['a spacing no body has', 'ElementSpacing', 'ElementSpacing = 1e308 10 10', 'bad-spacing', /would span .* along axis 1 \(24 voxels of 1e\+308 mm\): no scan of a body is longer than 10 m/],
  ] as const)('MetaImage with %s is refused (ITK read it as given)', async (name, key, line, code, message) => {
    await expectVolumeError(await metaImageWith(name.replace(/ /g, '-'), key, line), code, message)
  })

  it('a NIfTI whose spacing no body has is refused before segmentation asks for an impossible grid', async () => {
    const v = small()
    const f = join(dir, 'spacing-1e30.nii.gz')
    await writeVolume({ ...v, spacing: [1e30, 10, 10] }, f)
    await expectVolumeError(f, 'bad-spacing', /no scan of a body is longer than 10 m, so the voxel spacing in the header is wrong/)
    const r = CLI(['segment', f, '-o', join(dir, 'spacing-1e30-labels.nii.gz')])
    expect(r.status).not.toBe(0)
    expect(r.stderr).toContain(`${f}: the volume would span`)
  })

  it('a detached header (.nhdr, .mhd) whose data file is missing, short or a FIFO is refused in words; the pair itself reads', async () => {
    const v = small()
    const raw = Buffer.from(Int16Array.from(v.data).buffer)
    const headers = {
      nhdr: (data: string) => `NRRD0004\ntype: short\ndimension: 3\nspace: left-posterior-superior\nsizes: ${v.dims.join(' ')}\nspace directions: (10,0,0) (0,10,0) (0,0,10)\nencoding: raw\nendian: little\nspace origin: (0,0,0)\ndata file: ${data}\n`,
      mhd: (data: string) => `ObjectType = Image\nNDims = 3\nBinaryData = True\nBinaryDataByteOrderMSB = False\nCompressedData = False\nTransformMatrix = 1 0 0 0 1 0 0 0 1\nOffset = 0 0 0\nElementSpacing = 10 10 10\nDimSize = ${v.dims.join(' ')}\nElementType = MET_SHORT\nElementDataFile = ${data}\n`,
    }
    // every NRRD spelling of a 16-bit type sizes the data file alike
    const shortInt = join(dir, 'detached-short-int')
    mkdirSync(shortInt)
    writeFileSync(join(shortInt, 'ct.raw'), raw)
    writeFileSync(join(shortInt, 'ct.nhdr'), headers.nhdr('ct.raw').replace('type: short', 'type: signed short int'))
    expect((await readCt(join(shortInt, 'ct.nhdr'))).dims).toEqual(v.dims)
    writeFileSync(join(shortInt, 'ct.nhdr'), headers.nhdr('ct.raw').replace('type: short', 'type: short int'))
    expect((await readCt(join(shortInt, 'ct.nhdr'))).dims).toEqual(v.dims)
    for (const [ext, header] of Object.entries(headers)) {
      const folder = join(dir, `detached-${ext}`)
      mkdirSync(folder)
      writeFileSync(join(folder, 'ct.raw'), raw)
      writeFileSync(join(folder, `ct.${ext}`), header('ct.raw'))
      const read = await readCt(join(folder, `ct.${ext}`))
      expect(Buffer.compare(Buffer.from(read.data.buffer, read.data.byteOffset, read.data.byteLength), raw), ext).toBe(0)
      writeFileSync(join(folder, `missing.${ext}`), header('gone.raw'))
      await expectVolumeError(join(folder, `missing.${ext}`), 'not-found', /the header's voxel data file "gone\.raw" was not found \(looked for .*gone\.raw\)/)
      writeFileSync(join(folder, 'short.raw'), raw.subarray(0, 1000))
      writeFileSync(join(folder, `short.${ext}`), header('short.raw'))
      await expectVolumeError(join(folder, `short.${ext}`), 'truncated', new RegExp(`"short\\.raw" holds 1000 bytes but the header needs ${raw.length}`))
      mkfifo(join(folder, 'fifo.raw'))
      writeFileSync(join(folder, `fifo.${ext}`), header('fifo.raw'))
      await expectVolumeError(join(folder, `fifo.${ext}`), 'not-regular-file', /"fifo\.raw" is not a regular file/)
    }
  })

  it('NIfTI vox_offset 0 (unset) still reads, as nibabel does', async () => {
    const b = encodeNifti(small(), false)
    b.writeFloatLE(0, 108)
    const f = join(dir, 'voxoffset-0.nii')
    writeFileSync(f, b)
    expect((await readCt(f)).dims).toEqual([24, 20, 8])
  })

  function patchPixelSpacing(series: string, file: string, value: string): string {
    const path = join(series, file)
    const buf = readFileSync(path)
    const dict = dcmjs.data.DicomMessage.readFile(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength))
    dict.dict['00280030'].Value = value.split('\\').map(Number)
    writeFileSync(path, Buffer.from(dict.write()))
    return path
  }

  it.each([
    ['0', '0\\10'],
    ['negative', '-10\\10'],
  ])('DICOM Pixel Spacing %s is refused naming the file and the attribute', async (_name, value) => {
    const series = join(dir, `ps-${_name}`)
    writeDicomSeries(small(), series)
    const bad = patchPixelSpacing(series, readdirSync(series).sort()[2], value)
    const ve = await readError(series)
    expect(ve.code).toBe('bad-spacing')
    expect(ve.message).toBe(`${bad}: Pixel Spacing (0028,0030) is ${value}: both values must be positive numbers of mm`)
  })

  it('a slice whose pixel data the decoder cannot read is named, with the decoder in words (not the folder and a number)', async () => {
    const series = join(dir, 'undecodable')
    writeDicomSeries(small(), series)
    // one file claims JPEG 2000 while its pixel data is native: headers parse, GDCM cannot decode it
    const bad = join(series, readdirSync(series).sort()[5])
    const buf = readFileSync(bad)
    const dict = dcmjs.data.DicomMessage.readFile(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength))
    dict.meta['00020010'].Value = ['1.2.840.10008.1.2.4.90']
    writeFileSync(bad, Buffer.from(dict.write()))
    const ve = await readError(series)
    expect(ve.code).toBe('bad-format')
    expect(ve.file).toBe(bad)
    expect(ve.message).toMatch(/the pixel data could not be decoded \(.*[a-z]{3}.*\); transfer syntax 1\.2\.840\.10008\.1\.2\.4\.90$/)
    expect(ve.message).not.toMatch(/\(\d+\)/)
  })

  it('an element claiming more bytes than the file holds is refused in words, not parsed until memory runs out (dcmjs loops on it)', () => {
    // 40 bytes: (0008,0012) UN claiming 256 MB. The CLI runs with a small heap, so a regression
    // shows as a crash here rather than as minutes of swapping.
    const crafted = Buffer.alloc(40)
    crafted.writeUInt16LE(0x0008, 0)
    crafted.writeUInt16LE(0x0012, 2)
    crafted.write('UN', 4, 'latin1')
    crafted.writeUInt32LE(0x10000000, 8)
    const series = join(dir, 'claims-too-much')
    writeDicomSeries(small(), series)
    const asPart10 = join(dir, 'claims-too-much.dcm')
    writeFileSync(asPart10, Buffer.concat([Buffer.alloc(128), Buffer.from('DICM'), readFileSync(join(series, readdirSync(series)[0])).subarray(132, 132 + 12 + readFileSync(join(series, readdirSync(series)[0])).readUInt32LE(140)), crafted]))
    writeFileSync(join(series, 'IM_CRAFTED'), crafted)
    const env = { ...process.env, NODE_OPTIONS: '--max-old-space-size=200' }
    const cli = (path: string) => spawnSync(process.execPath, [join(process.cwd(), 'bin/scn-studio.mjs'), 'info', path], { encoding: 'utf8', timeout: 60_000, env })
    // as a Part 10 file: refused, naming the element and the sizes
    const one = cli(asPart10)
    expect(one.status, one.stderr).not.toBe(0)
    expect(one.signal).toBeNull()
    expect(one.stderr).toContain(`${asPart10}: the DICOM header is damaged or cut short: element (0008,0012) claims 268435456 bytes but only 28 remain in the file`)
    // as a bare data set in a series folder: not DICOM after all, passed over; the series reads
    const folder = cli(series)
    expect(folder.status, folder.stderr).toBe(0)
    expect(folder.stdout).toMatch(/24 ?[x×] ?20 ?[x×] ?8/)
  })

  it('the DICOM fixture with good spacing reads (control for the patch above)', async () => {
    const series = join(dir, 'ps-good')
    writeDicomSeries(small(), series)
    patchPixelSpacing(series, readdirSync(series).sort()[2], '10\\10')
    expect((await readVolume(series)).spacing).toEqual([10, 10, 10])
  })
})
