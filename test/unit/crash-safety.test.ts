/**
 * Crash safety, for real: a child process edits a case through the real autosave path and is
 * killed with SIGKILL at a random moment, many times over. After every kill the case must open
 * (stale lock taken over), its labels file must decode completely and be exactly one of the states
 * the child wrote, and never older than a save the child had reported as done.
 */
import { describe, expect, it } from 'vitest'
import { spawn, spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { Workspace } from '../../src-main/cases/workspace.js'
import { readLabels } from '../../src-main/volumes/read.js'
import { readNifti } from '../../src-main/volumes/nifti.js'
import { mulberry32 } from '../../src-shared/phantom.js'
import { crashState, stateIndex } from '../fixtures/cases-crash-state.js'
import { TEST_MODEL, phantomCtFile, tmpDir } from '../fixtures/cases-workspace.js'
import { labelStats } from '../../src-main/cases/label-stats.js'
import { deriveStatus, unapprovedValues } from '../../src-main/cases/review.js'

const ITERATIONS = Number(process.env.SCN_CRASH_ITERATIONS ?? 60)
const BUDGET_MS = 55_000
const CHILD = new URL('../fixtures/cases-crash-child.ts', import.meta.url).pathname

interface Run {
  k0: number
  confirmed: number
  lastLine: string
}

function runAndKill(wsDir: string, caseId: string, killAfterMs: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', CHILD, wsDir, caseId], { stdio: ['ignore', 'pipe', 'pipe'] })
    let buf = ''
    let err = ''
    const run: Run = { k0: -1, confirmed: -1, lastLine: '' }
    p.stdout.on('data', (d: Buffer) => {
      buf += d.toString()
      let nl
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl)
        buf = buf.slice(nl + 1)
        run.lastLine = line
        const [what, k] = line.split(' ')
        if (what === 'ready') {
          run.k0 = Number(k)
          setTimeout(() => p.kill('SIGKILL'), killAfterMs)
        } else if (what === 'saved') run.confirmed = Math.max(run.confirmed, Number(k))
      }
    })
    p.stderr.on('data', (d: Buffer) => (err += d.toString()))
    p.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve(run)
      else reject(new Error(`child exited by itself (code ${code}): ${err}`))
    })
  })
}

describe('crash safety (SIGKILL during autosave)', () => {
  it(`survives ${ITERATIONS} kills at random moments with no corrupt or lost labels`, async () => {
    const dir = tmpDir('scn-crash-')
    const { ct, ctPath } = await phantomCtFile(dir, { dims: [96, 96, 40], spacing: [4, 4, 8] })
    const wsDir = join(dir, 'ws')
    const ws = await Workspace.open(wsDir, { create: true })
    const n = ct.data.length
    const c = await ws.createCase({ ctPath, ct, prediction: { labels: crashState(0, n), model: TEST_MODEL } })
    const rand = mulberry32(20260101)
    const t0 = Date.now()
    let iterations = 0
    let lastConfirmed = 0
    let lastState = 0
    let killedWhileSaving = 0
    const seen = new Set<number>()
    while (iterations < ITERATIONS && Date.now() - t0 < BUDGET_MS) {
      // kill anywhere from right after opening to a few hundred saves later
      const run = await runAndKill(wsDir, c.id, Math.floor(rand() * 250))
      iterations++
      // the child started from the state on disk: nothing before it was lost
      expect(run.k0, 'the child reopened an older state than the last one on disk').toBe(lastState)
      const labels = await readLabels(ws.labelsPath(c.id)).catch((e) => {
        throw new Error(`iteration ${iterations}: the labels file does not read back: ${(e as Error).message}`)
      })
      const k = stateIndex(labels.data)
      expect(labels.data.length).toBe(n)
      expect(Buffer.compare(Buffer.from(labels.data), Buffer.from(crashState(k, n))), `iteration ${iterations}: file holds no state the child wrote`).toBe(0)
      expect(k, `iteration ${iterations}: a save the child reported (${run.confirmed}) was lost`).toBeGreaterThanOrEqual(Math.max(run.confirmed, lastConfirmed))
      if (k > run.confirmed && run.confirmed >= 0) killedWhileSaving++
      // the case file is whole and valid too (it is written after the labels)
      const cf = await ws.readCase(c.id)
      expect(cf.id).toBe(c.id)
      expect(readNifti(ws.labelsPath(c.id)).dims).toEqual(ct.dims)
      lastConfirmed = Math.max(lastConfirmed, run.confirmed)
      lastState = k
      seen.add(k)
    }
    const elapsed = Date.now() - t0
    console.log(`crash-safety: ${iterations} SIGKILLs in ${(elapsed / 1000).toFixed(1)} s, ${seen.size} distinct states on disk, last state ${lastState}, ${killedWhileSaving} kills landed after an unreported save`)
    expect(iterations).toBeGreaterThanOrEqual(Math.min(ITERATIONS, 50))
    expect(lastState).toBeGreaterThan(iterations) // the child really got to save between kills
    // a last clean open takes over the stale lock and clears temp files the kills left behind
    const s = await ws.openCase(c.id)
    await s.close()
    expect(readdirSync(ws.caseDir(c.id)).filter((f) => f.endsWith('.tmp'))).toEqual([])
  }, 90_000)
})

describe('crash safety of reviews', () => {
  it('a crash between the labels and case.json never leaves an approval on voxels no one reviewed', async () => {
    const dir = tmpDir('scn-crash-review-')
    const p = await phantomCtFile(dir, { seed: 7 })
    const ws = await Workspace.open(join(dir, 'ws'), { create: true })
    const c = await ws.createCase({ ctPath: p.ctPath, ct: p.ct, prediction: { labels: p.labels.data, model: TEST_MODEL } })
    for (const l of ws.labelTable.labels.filter((l) => l.source === 'model')) await ws.approveOrgan(c.id, l.value, 'reviewer')
    expect(deriveStatus(await ws.readCase(c.id), ws.labelTable)).toBe('reviewed')

    const hook = new URL('../fixtures/kill-after-labels-rename.cjs', import.meta.url).pathname
    const child = new URL('../fixtures/cases-review-crash-child.ts', import.meta.url).pathname
    const r = spawnSync(process.execPath, ['--require', hook, '--import', 'tsx', child, join(dir, 'ws'), c.id], { encoding: 'utf8' })
    expect(r.signal, r.stderr).toBe('SIGKILL')

    const after = await Workspace.open(join(dir, 'ws'))
    const cf = await after.readCase(c.id)
    // the new voxels are on disk (the kill came after the labels were in place) ...
    const onDisk = labelStats((await after.readCurrentLabels(c.id)).data)
    expect(onDisk['1'].hash).not.toBe(labelStats(p.labels.data)['1'].hash)
    // ... and organ 1 is no longer approved, so no export takes it as reviewed
    expect(cf.review['1']).toMatchObject({ state: 'pending', note: expect.stringMatching(/^edited after it was approved by reviewer/) })
    expect(unapprovedValues(cf, after.labelTable)).toEqual([1])
    expect(deriveStatus(cf, after.labelTable)).not.toBe('reviewed')
    // the organs whose voxels did not change keep their approval
    expect(cf.review['3']?.state).toBe('approved')
  })
})
