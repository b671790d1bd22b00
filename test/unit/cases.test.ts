/**
 * Workspace and cases: label table rules, case creation (reference vs copy), autosave timing,
 * locks between processes, review and status, list filter/sort/next-to-do, schema fixtures.
 */
import { describe, expect, it } from 'vitest'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { spawn, spawnSync } from 'node:child_process'
import { hostname } from 'node:os'
import { readLabels } from '../../src-main/volumes/read.js'
import {
  CaseFileSchema,
  CaseLockedError,
  DebouncedSaver,
  LabelTableError,
  LabelTableSchema,
  TEAM_PRESETS,
  Workspace,
  WorkspaceError,
  WorkspaceFileSchema,
  acquireLock,
  addLabel,
  defaultLabelTable,
  editStats,
  labelStats,
  mergeModelLabels,
  retireLabel,
} from '../../src-main/cases/index.js'
import { FLARE_LABELS } from '../../src-shared/labels.js'
import { TEST_MODEL, phantomCtFile, tmpDir, workspaceWithCases } from '../fixtures/cases-workspace.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('label table', () => {
  it('starts with the model organs at their FLARE values and adds team classes above them, never reusing a value', () => {
    let t = defaultLabelTable()
    expect(t.labels.map((l) => [l.value, l.name])).toEqual(FLARE_LABELS.map((l) => [l.value, l.name]))
    for (const p of TEAM_PRESETS.slice(0, 3)) t = addLabel(t, p).table
    expect(t.labels.slice(4).map((l) => [l.value, l.name])).toEqual([[5, 'liver lesion'], [6, 'kidney lesion'], [7, 'pancreatic lesion']])
    expect(t.labels[4].anatomicRegion?.code).toBe('10200004')
    expect(t.version).toBe(4)
    t = retireLabel(t, 7)
    const { table, added } = addLabel(t, { name: 'cyst' })
    expect(added.value).toBe(8) // 7 is retired, not free
    expect(table.labels.find((l) => l.value === 7)?.retired).toBe(true)
    expect(() => addLabel(table, { name: 'Liver Lesion' })).toThrow(LabelTableError)
    expect(table.history.length).toBe(table.version)
  })

  it('refuses a model whose value means another structure', () => {
    const t = defaultLabelTable()
    expect(() => mergeModelLabels(t, [{ value: 2, name: 'aorta', color: [1, 2, 3], snomed: { code: '15825003', meaning: 'Aorta' } }])).toThrow(/clashes/)
    const merged = mergeModelLabels(t, [...FLARE_LABELS, { value: 9, name: 'aorta', color: [1, 2, 3], snomed: { code: '15825003', meaning: 'Aorta' } }])
    expect(merged.labels.at(-1)).toMatchObject({ value: 9, source: 'model' })
  })

  it('schema fixtures: good tables pass, broken ones fail with the reason', () => {
    const good = addLabel(defaultLabelTable(), TEAM_PRESETS[0]).table
    expect(LabelTableSchema.safeParse(JSON.parse(JSON.stringify(good))).success).toBe(true)
    const dup = structuredClone(good)
    dup.labels[4].value = 1
    const r = LabelTableSchema.safeParse(dup)
    expect(r.success).toBe(false)
    expect(JSON.stringify(r.error?.issues)).toMatch(/value 1 is used twice/)
    const badColor = structuredClone(good) as unknown as { labels: { color: number[] }[] }
    badColor.labels[0].color = [300, 0, 0]
    expect(LabelTableSchema.safeParse(badColor).success).toBe(false)
    const future = structuredClone(good)
    future.labels[4].addedIn = 99
    expect(LabelTableSchema.safeParse(future).success).toBe(false)
  })
})

describe('workspace and cases', () => {
  it('creates a workspace, references the CT by default and copies it on request', async () => {
    const dir = tmpDir()
    const ws = await Workspace.open(join(dir, 'ws'), { create: true })
    expect(WorkspaceFileSchema.safeParse(JSON.parse(readFileSync(join(dir, 'ws', 'workspace.json'), 'utf8'))).success).toBe(true)
    const p = await phantomCtFile(dir)
    const a = await ws.createCase({ ctPath: p.ctPath, name: 'Patient 1' })
    expect(a.id).toBe('Patient-1')
    expect(a.ct.copied).toBe(false)
    expect(ws.ctPath(a)).toBe(p.ctPath)
    const b = await ws.createCase({ ctPath: p.ctPath, name: 'Patient 1', copyCt: true })
    expect(b.id).toBe('Patient-1-2')
    expect(existsSync(ws.ctPath(b))).toBe(true)
    expect(ws.ctPath(b).startsWith(ws.caseDir(b.id))).toBe(true)
    expect(a.ct.geometry.dims).toEqual(p.ct.dims)
    // reopening reads the same table; a folder without workspace.json is refused by name
    const again = await Workspace.open(join(dir, 'ws'))
    expect(again.labelTable).toEqual(ws.labelTable)
    await expect(Workspace.open(join(dir, 'nope'))).rejects.toThrow(/nope: not an SCN Studio workspace/)
  })

  it('a damaged case.json is reported with the file and field, and listed as a problem', async () => {
    const { ws, cases } = await workspaceWithCases(2)
    const file = join(ws.caseDir(cases[1].id), 'case.json')
    const j = JSON.parse(readFileSync(file, 'utf8'))
    j.ct.geometry.dims = [0, 1, 1]
    writeFileSync(file, JSON.stringify(j))
    await expect(ws.readCase(cases[1].id)).rejects.toThrow(WorkspaceError)
    await expect(ws.readCase(cases[1].id)).rejects.toThrow(/case\.json: ct\.geometry\.dims\.0/)
    const { cases: list, problems } = await ws.listCases()
    expect(list.map((c) => c.id)).toEqual([cases[0].id])
    expect(problems[0]).toMatch(/case\.json/)
    writeFileSync(file, '{"schema": 1, "id": ')
    await expect(ws.readCase(cases[1].id)).rejects.toThrow(/not valid JSON/)
  })

  it('rejects a prediction that is not on the CT grid', async () => {
    const { ws, cases } = await workspaceWithCases(1)
    await expect(ws.setPrediction(cases[0].id, new Uint8Array(10), TEST_MODEL)).rejects.toThrow(/has 10 voxels but the CT has/)
  })
})

describe('autosave', () => {
  it('debounces: saves once after the last put, within the delay, with the newest value', async () => {
    const saved: number[] = []
    const s = new DebouncedSaver<number>(async (v) => {
      saved.push(v)
    }, { delayMs: 150, maxWaitMs: 400 })
    s.put(1)
    s.put(2)
    s.put(3)
    expect(s.dirty).toBe(true)
    await sleep(300)
    expect(saved).toEqual([3])
    expect(s.dirty).toBe(false)
  })

  it('saves at least every maxWaitMs while edits keep coming', async () => {
    const times: number[] = []
    const t0 = Date.now()
    const s = new DebouncedSaver<number>(async () => {
      times.push(Date.now() - t0)
    }, { delayMs: 200, maxWaitMs: 500 })
    const timer = setInterval(() => s.put(1), 50)
    await sleep(1300)
    clearInterval(timer)
    await s.close()
    expect(times.length).toBeGreaterThanOrEqual(2)
    expect(times[0]).toBeLessThan(800)
  })

  it('a failed write keeps the value and the next flush writes it', async () => {
    let fail = true
    const saved: number[] = []
    const s = new DebouncedSaver<number>(async (v) => {
      if (fail) throw new Error('disk full')
      saved.push(v)
    }, { delayMs: 10, onError: () => {} })
    s.put(7)
    await sleep(60)
    expect(s.error).toBeInstanceOf(Error)
    expect(s.dirty).toBe(true)
    fail = false
    await s.flush()
    expect(saved).toEqual([7])
    expect(s.dirty).toBe(false)
  })

  it('a case session writes labels within 2 s of the last edit and on close', async () => {
    const { ws, cases } = await workspaceWithCases(1)
    const id = cases[0].id
    const s = await ws.openCase(id, { user: 'ann' })
    expect(Array.from(s.labels)).toEqual(Array.from(cases[0].prediction!)) // starts from the prediction
    const edited = s.labels.slice()
    edited.fill(3, 0, 500)
    s.putLabels(edited)
    const t0 = Date.now()
    while (!existsSync(ws.labelsPath(id)) && Date.now() - t0 < 3000) await sleep(50)
    expect(Date.now() - t0).toBeLessThan(2000)
    expect((await readLabels(ws.labelsPath(id))).data).toEqual(edited)
    const later = edited.slice()
    later.fill(4, 0, 10)
    s.putLabels(later)
    await s.close() // close writes at once
    expect((await readLabels(ws.labelsPath(id))).data).toEqual(later)
    const c = await ws.readCase(id)
    expect(c.annotators).toEqual(['ann'])
    expect(c.labelStats).toEqual(labelStats(later))
    expect(existsSync(ws.lockPath(id))).toBe(false)
    expect(() => s.putLabels(later)).toThrow(/closed/)
  })
})

describe('locks', () => {
  it('a second window of the same process is refused with a clear message', async () => {
    const { ws, cases } = await workspaceWithCases(1)
    const s = await ws.openCase(cases[0].id)
    await expect(ws.openCase(cases[0].id)).rejects.toThrow(/already open in another window/)
    await s.close()
    const again = await ws.openCase(cases[0].id)
    await again.close()
  })

  it('a live other process holds the case; a dead one leaves a stale lock that is taken over', async () => {
    const { ws, cases } = await workspaceWithCases(1)
    const lockPath = ws.lockPath(cases[0].id)
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 20000)'])
    try {
      writeFileSync(lockPath, JSON.stringify({ pid: child.pid, hostname: hostname(), since: new Date().toISOString(), owner: 'bob' }))
      const err = await ws.openCase(cases[0].id).catch((e) => e)
      expect(err).toBeInstanceOf(CaseLockedError)
      expect(err.message).toMatch(new RegExp(`open in another SCN Studio \\(process ${child.pid}, bob`))
      const { cases: list } = await ws.listCases()
      expect(list[0].lockedBy).toMatch(String(child.pid))
      // review from this process is refused too: it would write behind the other process's back
      await expect(ws.approveOrgan(cases[0].id, 1, 'dr x')).rejects.toThrow(CaseLockedError)
    } finally {
      child.kill('SIGKILL')
    }
    await new Promise((r) => child.once('exit', r))
    const s = await ws.openCase(cases[0].id) // stale: pid is dead
    expect(JSON.parse(readFileSync(lockPath, 'utf8')).pid).toBe(process.pid)
    await s.close()
  })

  it('a lock from another host is refused unless forced', async () => {
    const dir = tmpDir()
    const path = join(dir, '.lock')
    writeFileSync(path, JSON.stringify({ pid: 1, hostname: 'elsewhere', since: '2026-01-01T00:00:00Z' }))
    await expect(acquireLock(path, 'c1')).rejects.toThrow(/process 1 on elsewhere.*force/)
    const l = await acquireLock(path, 'c1', { force: true })
    await l.release()
    expect(existsSync(path)).toBe(false)
  })

  it('two processes racing for one case: exactly one wins', async () => {
    const { ws, cases } = await workspaceWithCases(1)
    const script = `import { acquireLock } from ${JSON.stringify(new URL('../../src-main/cases/lock.ts', import.meta.url).pathname)}
try { await acquireLock(process.argv[1], 'c'); console.log('WON'); setTimeout(() => {}, 1500) } catch (e) { console.log('LOST ' + e.message) }`
    const run = () => new Promise<string>((res) => {
      const p = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, ws.lockPath(cases[0].id)], { stdio: ['ignore', 'pipe', 'inherit'] })
      let out = ''
      p.stdout.on('data', (d) => (out += d))
      p.on('exit', () => res(out.trim()))
    })
    const outs = await Promise.all([run(), run()])
    expect(outs.filter((o) => o === 'WON').length).toBe(1)
    expect(outs.find((o) => o !== 'WON')).toMatch(/LOST case "c" is open in another SCN Studio/)
  })
})

describe('review and status', () => {
  it('to do -> in progress -> flagged -> reviewed; edits after approval withdraw it', async () => {
    const { ws, cases } = await workspaceWithCases(1)
    const id = cases[0].id
    const status = async () => (await ws.listCases()).cases[0].status
    expect(await status()).toBe('todo')
    const s = await ws.openCase(id, { user: 'ann' })
    const edited = s.labels.slice()
    const bg = edited.findIndex((v, i) => v === 0 && i > 1000)
    edited[bg] = 1
    s.putLabels(edited)
    await s.flush()
    expect(await status()).toBe('in-progress')
    for (const v of [1, 2, 3]) await ws.approveOrgan(id, v, 'Dr Rad')
    await ws.flagOrgan(id, 4, 'Dr Rad', 'pancreas tail missed')
    expect(await status()).toBe('flagged')
    await expect(ws.flagOrgan(id, 4, 'Dr Rad', ' ')).rejects.toThrow(/needs a comment/)
    await expect(ws.setStatus(id, 'reviewed')).rejects.toThrow(/not yet approved: pancreas/)
    await ws.approveOrgan(id, 4, 'Dr Rad', 'fixed')
    expect(await status()).toBe('reviewed')
    const summary = (await ws.listCases()).cases[0]
    expect(summary).toMatchObject({ approved: 4, toReview: 4, reviewers: ['Dr Rad'] })
    // the annotator now edits the liver only: liver goes back to pending, kidney stays approved
    const again = s.labels.slice()
    again[bg + 1] = 1
    s.putLabels(again)
    await s.close()
    const c = await ws.readCase(id)
    expect(c.review['1'].state).toBe('pending')
    expect(c.review['1'].note).toMatch(/edited after it was approved by Dr Rad/)
    expect(c.review['2'].state).toBe('approved')
    expect(await status()).toBe('in-progress')
    expect(CaseFileSchema.safeParse(c).success).toBe(true)
  })

  it('a team class present in the labels must be approved too', async () => {
    const { ws, cases } = await workspaceWithCases(1)
    await ws.addLabel(TEAM_PRESETS[0])
    const id = cases[0].id
    for (const v of [1, 2, 3, 4]) await ws.approveOrgan(id, v, 'r')
    expect((await ws.listCases()).cases[0].status).toBe('reviewed')
    const s = await ws.openCase(id)
    const l = s.labels.slice()
    l[5] = 5
    s.putLabels(l)
    await s.close()
    expect((await ws.listCases()).cases[0]).toMatchObject({ status: 'in-progress', toReview: 5 })
    await ws.approveOrgan(id, 5, 'r')
    expect((await ws.listCases()).cases[0].status).toBe('reviewed')
  })

  it('filters, sorts and finds the next to-do case', async () => {
    const { ws, cases } = await workspaceWithCases(4)
    const ids = cases.map((c) => c.id)
    expect(ids).toEqual(['ct-1', 'ct-2', 'ct-3', 'ct-4'])
    for (const v of [1, 2, 3, 4]) await ws.approveOrgan('ct-2', v, 'r')
    await ws.setStatus('ct-3', 'flagged', 'wrong patient?')
    expect((await ws.listCases({ status: 'todo' })).cases.map((c) => c.id)).toEqual(['ct-1', 'ct-4'])
    expect((await ws.listCases({ status: ['reviewed', 'flagged'] })).cases.map((c) => c.id)).toEqual(['ct-2', 'ct-3'])
    expect((await ws.listCases({ text: 'CT-4' })).cases.map((c) => c.id)).toEqual(['ct-4'])
    expect((await ws.listCases({ sort: 'status', descending: true })).cases.map((c) => c.status)).toEqual(['reviewed', 'flagged', 'todo', 'todo'])
    expect((await ws.nextTodo())?.id).toBe('ct-1')
    expect((await ws.nextTodo('ct-1'))?.id).toBe('ct-4')
    expect((await ws.nextTodo('ct-4'))?.id).toBe('ct-1') // wraps
    const s = await ws.openCase('ct-1')
    expect((await ws.nextTodo('ct-4'))?.id).toBe('ct-1') // open in this process is fine
    await s.close()
  })

  it('edit statistics: added, removed and Dice per organ', () => {
    const pred = new Uint8Array([1, 1, 1, 1, 0, 0, 2, 2])
    const fin = new Uint8Array([1, 1, 0, 0, 1, 0, 2, 2])
    const [liver, kidney, spleen] = editStats(pred, fin, [1, 2, 3])
    expect(liver).toMatchObject({ predictedVoxels: 4, finalVoxels: 3, added: 1, removed: 2 })
    expect(liver.dice).toBeCloseTo((2 * 2) / 7, 10)
    expect(kidney).toMatchObject({ added: 0, removed: 0, dice: 1 })
    expect(spleen.dice).toBeNull()
  })
})

describe('CLI smoke', () => {
  it('tsx can import the cases module in a plain child process', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', `import('./src-main/cases/index.ts').then(m => console.log(typeof m.Workspace))`], { encoding: 'utf8' })
    expect(r.stdout.trim()).toBe('function')
  })
})
