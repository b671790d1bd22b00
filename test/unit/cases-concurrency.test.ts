/**
 * Two hosts on one workspace, many calls at once, and a disk that refuses the autosave (issue 18.4,
 * 18.8): case creation is exclusive and idempotent per volume, a host whose case was replaced says
 * so once and never writes into the other case, and a failed autosave reaches the page as an error
 * (never 200), keeps the edits, retries, and shows in the cases list. Real web hosts, real files;
 * the full disk is a real 2 MB tmpfs where this process may mount one, else a labels path that
 * cannot be replaced (a non-empty folder in its place: refused even for root).
 */
import { spawn, spawnSync } from 'node:child_process'
import { hostname } from 'node:os'
import { existsSync, mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { createHttpTransport, createScnClient, type ScnClient } from '../../src-shared/contract/index.js'
import { Workspace } from '../../src-main/cases/workspace.js'
import { startWebHost, type WebHost } from '../../src-main/hosts/web/server.js'
import { createServices } from '../../src-main/services/index.js'
import { readNifti } from '../../src-main/volumes/nifti.js'
import { phantomCtFile, tmpDir } from '../fixtures/cases-workspace.js'

interface Host {
  host: WebHost
  client: ScnClient
  eventsReady(): Promise<void>
  close(): Promise<void>
}

async function host(workspaceDir: string, allow: string[]): Promise<Host> {
  const runtime = createServices({ host: 'web', workspaceDir, allowDirs: allow })
  const h = await startWebHost({ runtime, log: () => {} })
  const transport = createHttpTransport({ baseUrl: h.url, token: h.token, WebSocket: WebSocket as never })
  return {
    host: h,
    client: createScnClient(transport),
    eventsReady: () => transport.eventsReady(),
    async close() {
      transport.close()
      await h.close().catch(() => {})
    },
  }
}

async function openCt(c: ScnClient, path: string) {
  const r = await c.volumes.open({ path })
  if (r.status !== 'opened') throw new Error(`${path} did not open`)
  return r.volume
}

/** labels.put as the page sends it: from `version` (default: the host's current one) */
async function put(c: ScnClient, volumeId: string, data: Uint8Array, version?: number) {
  const cur = await c.labels.get({ volumeId, kind: 'current' })
  return c.labels.put({ header: { ...cur.header, version: version ?? cur.header.version }, data })
}

describe('case creation: exclusive and idempotent', () => {
  let dir: string
  beforeAll(() => {
    dir = tmpDir('scn-cases-conc-')
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('two workspaces (two hosts) creating cases for CTs with one file name at once: every case its own id and folder', async () => {
    const a = await phantomCtFile(join(dir, 'a'), { name: 'ct', seed: 1 })
    mkdirSync(join(dir, 'b'), { recursive: true })
    const b = await phantomCtFile(join(dir, 'b'), { name: 'ct', seed: 2 })
    const wsDir = join(dir, 'ws-two')
    const w1 = await Workspace.open(wsDir, { create: true })
    const w2 = await Workspace.open(wsDir)
    const made = await Promise.all([
      ...Array.from({ length: 10 }, () => w1.createCase({ ctPath: a.ctPath, ct: a.ct })),
      ...Array.from({ length: 10 }, () => w2.createCase({ ctPath: b.ctPath, ct: b.ct })),
    ])
    const ids = made.map((c) => c.id)
    expect(new Set(ids).size).toBe(20)
    expect(ids).toContain('ct')
    for (const c of made) {
      // each case.json is the one its creator wrote (never overwritten by the other host)
      const onDisk = await w1.readCase(c.id)
      expect(onDisk.ct.path).toBe(c.ct.path)
      expect(onDisk.uid).toBe(c.uid)
    }
    expect((await w1.listCases()).cases).toHaveLength(20)
  }, 60_000)

  it('50 concurrent cases.create on one volume make ONE case; two hosts with same-named CTs get distinct ids and both save', async () => {
    const a = await phantomCtFile(join(dir, 'h1'), { name: 'scan', seed: 3 })
    const b = await phantomCtFile(join(dir, 'h2'), { name: 'scan', seed: 4 })
    const wsDir = join(dir, 'ws-hosts')
    const h1 = await host(wsDir, [dir])
    const h2 = await host(wsDir, [dir])
    try {
      const v1 = await openCt(h1.client, a.ctPath)
      const v2 = await openCt(h2.client, b.ctPath)
      const answers = await Promise.all([
        ...Array.from({ length: 50 }, () => h1.client.cases.create({ volumeId: v1.volumeId })),
        h2.client.cases.create({ volumeId: v2.volumeId }),
      ])
      const first = answers.slice(0, 50).map((c) => c.caseId)
      expect(new Set(first).size).toBe(1)
      const other = answers[50].caseId
      expect(other).not.toBe(first[0])
      expect((await h1.client.cases.list({})).cases.map((c) => c.caseId).sort()).toEqual([first[0], other].sort())
      // a later call is idempotent too
      expect((await h1.client.cases.create({ volumeId: v1.volumeId })).caseId).toBe(first[0])
      // both hosts save their own edits into their own case
      const n = a.ct.data.length
      const e1 = new Uint8Array(n).fill(1, 0, 100)
      const e2 = new Uint8Array(n).fill(2, 0, 200)
      const cur1 = await h1.client.labels.get({ volumeId: v1.volumeId, kind: 'current' })
      const cur2 = await h2.client.labels.get({ volumeId: v2.volumeId, kind: 'current' })
      await h1.client.labels.put({ header: cur1.header, data: e1 })
      await h2.client.labels.put({ header: cur2.header, data: e2 })
      await h1.client.volumes.close({ volumeId: v1.volumeId })
      await h2.client.volumes.close({ volumeId: v2.volumeId })
      expect(Buffer.from(readNifti(join(wsDir, 'cases', first[0], 'labels.nii.gz')).data as Uint8Array).equals(Buffer.from(e1))).toBe(true)
      expect(Buffer.from(readNifti(join(wsDir, 'cases', other, 'labels.nii.gz')).data as Uint8Array).equals(Buffer.from(e2))).toBe(true)
    } finally {
      await h1.close()
      await h2.close()
    }
  }, 60_000)

  it('a host whose case was replaced by another says so, and never writes into the other case', async () => {
    const a = await phantomCtFile(join(dir, 'r1'), { name: 'liver', seed: 5 })
    const b = await phantomCtFile(join(dir, 'r2'), { name: 'liver', seed: 6, dims: [30, 30, 20] })
    const wsDir = join(dir, 'ws-replaced')
    const h1 = await host(wsDir, [dir])
    try {
      const v1 = await openCt(h1.client, a.ctPath)
      const c1 = await h1.client.cases.create({ volumeId: v1.volumeId })
      const first = await put(h1.client, v1.volumeId, new Uint8Array(a.ct.data.length).fill(1, 0, 50))
      await h1.client.cases.get({ caseId: c1.caseId }) // saved
      // another program (an older SCN Studio, a sync tool) puts a different case in its place
      const caseJson = join(wsDir, 'cases', c1.caseId, 'case.json')
      const replaced = { ...JSON.parse(readFileSync(caseJson, 'utf8')), uid: 'someone-elses-case', createdAt: new Date(Date.now() + 1000).toISOString() }
      replaced.ct = { ...replaced.ct, path: b.ctPath, geometry: { ...replaced.ct.geometry, dims: b.ct.dims } }
      rmSync(join(wsDir, 'cases', c1.caseId, 'labels.nii.gz'))
      writeFileSync(caseJson, JSON.stringify(replaced, null, 2))
      const theirs = readFileSync(caseJson, 'utf8')
      const c2 = { caseId: c1.caseId }
      // the first host's next edit: a clear error, the same one each time, and nothing written
      const edit = new Uint8Array(a.ct.data.length).fill(4, 0, 500)
      await expect(put(h1.client, v1.volumeId, edit, first.version)).resolves.toBeDefined() // accepted in memory; the save comes later
      await expect(h1.client.cases.get({ caseId: c1.caseId })).rejects.toMatchObject({ code: 'conflict', message: expect.stringMatching(/another SCN Studio replaced it.*export them/) })
      await expect(put(h1.client, v1.volumeId, edit, first.version + 1)).rejects.toMatchObject({ code: 'conflict', message: expect.stringMatching(/now describes another case "liver".*another SCN Studio replaced it/) })
      expect(readFileSync(join(wsDir, 'cases', c2.caseId, 'case.json'), 'utf8')).toBe(theirs)
      expect(existsSync(join(wsDir, 'cases', c2.caseId, 'labels.nii.gz'))).toBe(false)
      // the edits are still on the host, and the volume closes without trying to save them
      expect((await h1.client.labels.get({ volumeId: v1.volumeId, kind: 'current' })).data).toEqual(edit)
      await h1.client.volumes.close({ volumeId: v1.volumeId })
    } finally {
      await h1.close()
    }
  }, 60_000)
})

/** A 2 MB tmpfs at `dir` (root in a container that allows it), or undefined. */
function tinyTmpfs(dir: string): (() => void) | undefined {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return undefined
  mkdirSync(dir, { recursive: true })
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dir])
  if (r.status !== 0) return undefined
  return () => void spawnSync('umount', ['-l', dir])
}

describe('the label table: one writer at a time across processes', () => {
  let dir: string
  beforeAll(() => {
    dir = tmpDir('scn-table-conc-')
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('two processes and two workspaces in this one adding classes at once: every class kept, each its own value', async () => {
    const wsDir = join(dir, 'ws')
    const w1 = await Workspace.open(wsDir, { create: true })
    const w2 = await Workspace.open(wsDir)
    const before = w1.labelTable.labels.length
    const script = `import { Workspace } from ${JSON.stringify(new URL('../../src-main/cases/workspace.ts', import.meta.url).pathname)}
const w = await Workspace.open(process.argv[1])
await Promise.all(Array.from({ length: 6 }, (_, i) => w.addLabel({ name: process.argv[2] + ' ' + i })))
console.log('DONE')`
    const child = (tag: string) =>
      new Promise<string>((res) => {
        const p = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, wsDir, tag], { stdio: ['ignore', 'pipe', 'pipe'] })
        let out = ''
        p.stdout.on('data', (d) => (out += d))
        p.stderr.on('data', (d) => (out += d))
        p.on('exit', () => res(out.trim()))
      })
    const outs = await Promise.all([
      child('process A'),
      child('process B'),
      ...Array.from({ length: 6 }, (_, i) => w1.addLabel({ name: `window one ${i}` })),
      ...Array.from({ length: 6 }, (_, i) => w2.addLabel({ name: `window two ${i}` })),
    ])
    expect(outs.slice(0, 2)).toEqual(['DONE', 'DONE'])
    const table = (await Workspace.open(wsDir)).labelTable
    const added = table.labels.slice(before)
    expect(added).toHaveLength(24)
    expect(new Set(added.map((l) => l.value)).size).toBe(24)
    for (const tag of ['process A', 'process B', 'window one', 'window two']) expect(added.filter((l) => l.name.startsWith(tag + ' '))).toHaveLength(6)
    expect(existsSync(join(wsDir, 'workspace.json.lock'))).toBe(false)
  }, 120_000)

  it('a lock left by a process that died is taken over', async () => {
    const wsDir = join(dir, 'ws-stale')
    const w = await Workspace.open(wsDir, { create: true })
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' })
    writeFileSync(join(wsDir, 'workspace.json.lock'), JSON.stringify({ pid: Number(dead.stdout), hostname: hostname(), since: new Date().toISOString() }))
    const t = await w.addLabel({ name: 'after a crash' })
    expect(t.labels.at(-1)!.name).toBe('after a crash')
    expect(existsSync(join(wsDir, 'workspace.json.lock'))).toBe(false)
    // one from another machine (a shared folder) cannot be checked: held for milliseconds, so a
    // minute-old one is taken over too
    const lock = join(wsDir, 'workspace.json.lock')
    writeFileSync(lock, JSON.stringify({ pid: 1, hostname: 'another-machine', since: new Date(Date.now() - 120_000).toISOString() }))
    utimesSync(lock, new Date(Date.now() - 120_000), new Date(Date.now() - 120_000))
    expect((await w.addLabel({ name: 'after a crash elsewhere' })).labels.at(-1)!.name).toBe('after a crash elsewhere')
    expect(existsSync(lock)).toBe(false)
    expect(existsSync(`${lock}.break`)).toBe(false)
  })
})

describe('a failed autosave', () => {
  let dir: string
  let unmount: (() => void) | undefined
  beforeAll(() => {
    dir = tmpDir('scn-cases-full-')
  })
  afterAll(() => {
    unmount?.()
    rmSync(dir, { recursive: true, force: true })
  })

  it('is never answered 200: the page gets the error, the edits stay and are retried, the list shows it', async () => {
    const ct = await phantomCtFile(join(dir, 'ct'), { name: 'kidney', seed: 7, dims: [64, 64, 40] })
    const wsDir = join(dir, 'ws')
    unmount = tinyTmpfs(wsDir)
    const h = await host(wsDir, [dir])
    const events: { saved: boolean; error?: string }[] = []
    h.client.cases.onSaveStatus((e) => events.push(e))
    await h.eventsReady()
    try {
      const v = await openCt(h.client, ct.ctPath)
      const c = await h.client.cases.create({ volumeId: v.volumeId })
      const caseDir = join(wsDir, 'cases', c.caseId)
      await h.client.cases.get({ caseId: c.caseId }) // the first save is on disk
      // now the disk refuses: filled to the last byte (tmpfs), or the labels path blocked
      const filler = join(wsDir, 'filler')
      let unblock: () => void
      if (unmount) {
        spawnSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=64k'], { stdio: 'ignore' }) // stops at ENOSPC
        unblock = () => rmSync(filler)
      } else {
        rmSync(join(caseDir, 'labels.nii.gz'), { force: true })
        mkdirSync(join(caseDir, 'labels.nii.gz', 'blocked'), { recursive: true })
        unblock = () => rmSync(join(caseDir, 'labels.nii.gz'), { recursive: true })
      }
      const n = ct.ct.data.length
      // random labels do not compress: they cannot fit in what is left
      const edit = new Uint8Array(n).map(() => (Math.random() * 5) | 0)
      const ok = await put(h.client, v.volumeId, edit, 1) // accepted into the autosave, written within 2 s
      expect(ok.version).toBe(2)
      // the background write fails: the list shows it at once
      let listed
      for (let i = 0; i < 100; i++) {
        listed = (await h.client.cases.list({})).cases.find((x) => x.caseId === c.caseId)
        if (listed?.saveError) break
        await new Promise((r) => setTimeout(r, 100))
      }
      expect(listed?.saveError).toMatch(new RegExp(`the labels could not be saved to ${join(caseDir, 'labels.nii.gz').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\((ENOSPC|EISDIR|ENOTEMPTY)`))
      expect(listed?.saveError).toMatch(/kept in memory and saved again automatically/)
      // and the page was told when it happened, without asking
      for (let i = 0; i < 50 && !events.length; i++) await new Promise((r) => setTimeout(r, 100))
      expect(events[0]).toMatchObject({ saved: false, error: listed?.saveError })
      // the next put is an error, not 200, and does not move the version (the page sends again)
      const edit2 = edit.slice()
      edit2[0] = 9
      await expect(put(h.client, v.volumeId, edit2, 2)).rejects.toMatchObject({ code: 'failed', message: expect.stringMatching(/could not be saved.*(ENOSPC|EISDIR|ENOTEMPTY)/) })
      expect(existsSync(join(caseDir, 'labels.nii.gz')) && !unmount ? 'dir' : 'ok').toBe('ok')
      // the host holds the newest edits
      const held = await h.client.labels.get({ volumeId: v.volumeId, kind: 'current' })
      expect(held.header.version).toBe(2)
      expect(held.data).toEqual(edit2)
      // space again: the retry writes them without another put, and the error clears
      unblock()
      let cleared
      for (let i = 0; i < 150; i++) {
        cleared = (await h.client.cases.list({})).cases.find((x) => x.caseId === c.caseId)
        if (!cleared?.saveError) break
        await new Promise((r) => setTimeout(r, 100))
      }
      expect(cleared?.saveError).toBeUndefined()
      for (let i = 0; i < 50 && !events.at(-1)?.saved; i++) await new Promise((r) => setTimeout(r, 100))
      expect(events.at(-1)).toMatchObject({ saved: true })
      const onDisk = readNifti(join(caseDir, 'labels.nii.gz'))
      expect(Buffer.from(onDisk.data as Uint8Array).equals(Buffer.from(edit2))).toBe(true)
      // and puts are plain 200s again
      expect((await put(h.client, v.volumeId, edit, 2)).version).toBe(3)
      writeFileSync(join(dir, 'done'), '')
    } finally {
      await h.close()
    }
  }, 60_000)
})
