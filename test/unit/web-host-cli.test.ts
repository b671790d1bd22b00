/**
 * `scn-studio serve` (= `npm run serve -- <path>`) as a user runs it: it prints a tokened loopback
 * URL; the same URL without the token gets 401; a non-loopback --host is refused without
 * --allow-remote and warned about with it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { writePhantom } from '../helpers/web-host.js'

const root = join(import.meta.dirname, '../..')
const cli = join(root, 'bin/scn-studio.mjs')

function waitForUrl(child: ChildProcess, ms = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => reject(new Error(`no URL printed within ${ms} ms:\n${out}`)), ms)
    child.stdout!.on('data', (d) => {
      out += String(d)
      const m = /(http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]+)/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve(m[1])
      }
    })
    child.on('exit', (code) => reject(new Error(`serve exited with ${code}:\n${out}`)))
  })
}

describe('scn-studio serve', () => {
  let dir: string
  let phantom: string
  let child: ChildProcess | undefined
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'scn-serve-'))
    phantom = await writePhantom(dir, [16, 16, 8], [10, 10, 20])
  })
  afterAll(() => {
    if (child?.exitCode === null) child.kill('SIGTERM')
    rmSync(dir, { recursive: true, force: true })
  })

  it('prints a tokened loopback URL; without the token: 401; stops cleanly on SIGTERM', async () => {
    child = spawn(process.execPath, [cli, 'serve', phantom, '--workspace', join(dir, 'ws')], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
    const url = await waitForUrl(child)
    const u = new URL(url)
    expect(u.searchParams.get('token')!.length).toBeGreaterThanOrEqual(32)
    expect((await fetch(`${u.origin}/`)).status).toBe(401)
    const info = await fetch(`${u.origin}/api/call/app.info`, { method: 'POST', headers: { 'x-scn-token': u.searchParams.get('token')!, 'content-type': 'application/json' }, body: '{}' })
    expect(info.status).toBe(200)
    expect((await info.json()).launchPath).toBe(phantom)
    // opening reads the CT on the compiled build's reader thread (read-worker.js beside the chunks)
    const opened = await fetch(`${u.origin}/api/call/volumes.open`, { method: 'POST', headers: { 'x-scn-token': u.searchParams.get('token')!, 'content-type': 'application/json' }, body: JSON.stringify({ path: phantom }) })
    expect(opened.status).toBe(200)
    expect(await opened.json()).toMatchObject({ status: 'opened', volume: { geometry: { dims: [16, 16, 8] } } })
    const exited = new Promise<number | null>((r) => child!.on('exit', (code) => r(code)))
    child.kill('SIGTERM')
    expect(await exited).toBe(0)
  })

  it('refuses --host 0.0.0.0 without --allow-remote (exit 2, says why)', () => {
    const r = spawnSync(process.execPath, [cli, 'serve', '--host', '0.0.0.0'], { cwd: root, encoding: 'utf8', timeout: 60_000 })
    expect(r.status).toBe(2)
    expect(r.stderr).toMatch(/refusing to listen on 0\.0\.0\.0.*--allow-remote/s)
    expect(r.stdout).not.toMatch(/token=/)
  })

  it('warns with --allow-remote', async () => {
    const c = spawn(process.execPath, [cli, 'serve', '--host', '0.0.0.0', '--allow-remote', '--workspace', join(dir, 'ws2')], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
    let err = ''
    c.stderr!.on('data', (d) => (err += String(d)))
    try {
      await waitForUrl(c)
      expect(err).toMatch(/WARNING: listening on 0\.0\.0\.0/)
    } finally {
      c.kill('SIGTERM')
    }
  })

  it('names a missing launch file and exits with the bad-input code', () => {
    const r = spawnSync(process.execPath, [cli, 'serve', join(dir, 'nope.nii.gz')], { cwd: root, encoding: 'utf8', timeout: 60_000 })
    expect(r.status).toBe(3)
    expect(r.stderr).toContain(join(dir, 'nope.nii.gz'))
  })
})
