/**
 * The Electron host without Electron: its policy functions, the preload bundle (one global, checked
 * channels), the channel list against the contract, and electron-builder.yml against
 * electron-builder's own schema. The live window is covered by test/e2e/electron.test.ts, the packed
 * app's workers by electron-package.test.ts.
 */
import { execFileSync } from 'node:child_process'
import { runInNewContext } from 'node:vm'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { CHANNEL_NAMES, channelsOf, EVENT_NAMES, EVENTS } from '../../src-shared/contract/index.js'
import { ipcChannels } from '../../src-main/hosts/electron/ipc.js'
import { APP_ENTRY, CSP, isAppUrl, launchPathFromArgv } from '../../src-main/hosts/electron/policy.js'

const root = join(import.meta.dirname, '../..')
const require = createRequire(join(root, 'package.json'))

describe('electron host policy', () => {
  it('trusts only the app:// origin', () => {
    expect(isAppUrl(APP_ENTRY)).toBe(true)
    expect(isAppUrl('app://scn/assets/x.js')).toBe(true)
    for (const u of ['file:///etc/passwd', 'https://scn/', 'app://evil/index.html', 'http://127.0.0.1/', 'not a url']) expect(isAppUrl(u), u).toBe(false)
  })
  it('has a strict CSP: no eval, no remote content, no plugins, no framing', () => {
    expect(CSP).toContain("default-src 'self'")
    expect(CSP).toContain("object-src 'none'")
    expect(CSP).toContain("frame-ancestors 'none'")
    expect(CSP).not.toMatch(/'unsafe-eval'|https?:|\*/)
  })
  it('takes the launch path from argv in development and packaged apps', () => {
    expect(launchPathFromArgv(['/x/electron', '/app/dist/electron', '/data/ct.nii.gz'], false)).toBe('/data/ct.nii.gz')
    expect(launchPathFromArgv(['/opt/SCN Studio/scn-studio', '--no-sandbox', '/data/dicom'], true)).toBe('/data/dicom')
    expect(launchPathFromArgv(['/x/electron', '/app/dist/electron'], false)).toBeUndefined()
    // Playwright puts Chromium flags before the app folder
    expect(launchPathFromArgv(['/x/electron', '--inspect=0', '--remote-debugging-port=0', '/app/dist/electron', '/d/ct.nrrd'], false)).toBe('/d/ct.nrrd')
    expect(launchPathFromArgv(['/x/electron', 'dist/electron', '--', '/d/ct.nrrd'], false)).toBe('/d/ct.nrrd')
  })
  it('lists exactly the contract channels for IPC (preload and main agree)', () => {
    expect([...CHANNEL_NAMES].sort()).toEqual(channelsOf().sort())
    expect([...EVENT_NAMES].sort()).toEqual(Object.keys(EVENTS).sort())
    expect(ipcChannels()).toEqual(channelsOf().map((c) => `scn:${c}`))
  })
})

describe('electron bundles', () => {
  it('the preload exposes one global, window.scn, and checks channels; no zod, no Node modules', () => {
    execFileSync(process.execPath, [join(root, 'scripts/build-electron.mjs')], { cwd: root, stdio: 'pipe' })
    const preload = readFileSync(join(root, 'dist/electron/preload.cjs'), 'utf8')
    const exposes = [...preload.matchAll(/exposeInMainWorld\(\s*"([^"]+)"/g)].map((m) => m[1])
    expect(exposes).toEqual(['scn'])
    const requires = [...preload.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1])
    expect(requires).toEqual(['electron'])
    expect(preload).toContain('getPathForFile')
    expect(preload).not.toMatch(/\.path\b.*File|zod/)
    expect(preload.length).toBeLessThan(10_000)
  })
})

describe('the preload, run against a stand-in for Electron\'s renderer modules', () => {
  // Electron cannot run here, so the bundled preload runs in a VM whose `require('electron')`
  // records what it is asked to do. This checks the preload's own logic, not Electron.
  function loadPreload() {
    execFileSync(process.execPath, [join(root, 'scripts/build-electron.mjs')], { cwd: root, stdio: 'pipe' })
    const exposed: Record<string, unknown> = {}
    const invoked: [string, unknown][] = []
    const sent: [string, unknown][] = []
    const listeners = new Map<string, ((e: unknown, m: unknown) => void)[]>()
    const electron = {
      contextBridge: { exposeInMainWorld: (k: string, v: unknown) => (exposed[k] = v) },
      ipcRenderer: {
        invoke: async (c: string, p: unknown) => (invoked.push([c, p]), { ok: true, value: 'from main' }),
        send: (c: string, p: unknown) => sent.push([c, p]),
        on: (c: string, l: (e: unknown, m: unknown) => void) => listeners.set(c, [...(listeners.get(c) ?? []), l]),
        removeListener: (c: string, l: unknown) => listeners.set(c, (listeners.get(c) ?? []).filter((x) => x !== l)),
      },
      webUtils: { getPathForFile: (f: { onDisk?: string }) => f.onDisk ?? '' },
    }
    const code = readFileSync(join(root, 'dist/electron/preload.cjs'), 'utf8')
    runInNewContext(code, { require: (m: string) => (m === 'electron' ? electron : (() => { throw new Error(`preload required ${m}`) })()), module: { exports: {} }, exports: {} })
    return { exposed, invoked, sent, listeners }
  }

  it('exposes window.scn only; unknown channels never reach IPC', async () => {
    const { exposed, invoked } = loadPreload()
    expect(Object.keys(exposed)).toEqual(['scn'])
    const scn = exposed.scn as { host: string; invoke(c: string, p: unknown): Promise<unknown> }
    expect(scn.host).toBe('electron')
    expect(await scn.invoke('volumes.open', { path: '/x' })).toEqual({ ok: true, value: 'from main' })
    expect(invoked).toEqual([['scn:volumes.open', { path: '/x' }]])
    for (const bad of ['fs.readFile', 'scn:volumes.open', '__proto__', 'volumes.open ', 42 as unknown as string]) {
      expect(await scn.invoke(bad, {}), String(bad)).toMatchObject({ ok: false, error: { code: 'not-found' } })
    }
    expect(invoked.length).toBe(1)
  })

  it('passes on contract events only, without the IPC event object; unsubscribe works', () => {
    const { exposed, listeners } = loadPreload()
    const scn = exposed.scn as { onEvent(l: (m: unknown) => void): () => void }
    const got: unknown[] = []
    const off = scn.onEvent((m) => got.push(m))
    const fire = (m: unknown) => listeners.get('scn:event')!.forEach((l) => l({ sender: 'secret' }, m))
    fire({ event: 'segmentation.onProgress', payload: { fraction: 0.5 } })
    fire({ event: 'made.up', payload: 1 })
    expect(got).toEqual([{ event: 'segmentation.onProgress', payload: { fraction: 0.5 } }])
    off()
    expect(listeners.get('scn:event')).toEqual([])
  })

  it('pathForFile uses webUtils and tells main about dropped files only', () => {
    const { exposed, sent } = loadPreload()
    const scn = exposed.scn as { pathForFile(f: unknown): string }
    expect(scn.pathForFile({ onDisk: '/data/ct.nii.gz' })).toBe('/data/ct.nii.gz')
    expect(scn.pathForFile({})).toBe('')
    expect(sent).toEqual([['scn:dropped', '/data/ct.nii.gz']])
  })
})

describe('electron-builder.yml', () => {
  const yaml = require('js-yaml') as { load(s: string): Record<string, unknown> }
  const config = yaml.load(readFileSync(join(root, 'electron-builder.yml'), 'utf8')) as Record<string, never>
  it("passes electron-builder's own schema", async () => {
    const { validateConfiguration } = require('app-builder-lib/out/util/config/config.js') as {
      validateConfiguration(c: unknown, log: unknown): Promise<void>
    }
    await validateConfiguration(config, { isEnabled: false, add() {} })
    await expect(validateConfiguration({ ...config, linux: { target: 'AppImage' }, bogus: 1 }, { isEnabled: false, add() {} })).rejects.toThrow(/bogus/)
  })
  it('builds AppImage + deb, nsis and dmg with models and onnxruntime native files unpacked', () => {
    const c = config as unknown as { linux: { target: string[] }; win: { target: string[] }; mac: { target: string[] }; asarUnpack: string[]; files: string[]; extraMetadata: { main: string } }
    expect(c.linux.target).toEqual(['AppImage', 'deb'])
    expect(c.win.target).toEqual(['nsis'])
    expect(c.mac.target).toEqual(['dmg'])
    expect(c.asarUnpack).toEqual(expect.arrayContaining(['models/**', 'node_modules/onnxruntime-node/**', '**/*.node', 'dist/electron/worker-entry.mjs', 'dist/electron/worker.js', 'dist/electron/read-worker-entry.mjs', 'dist/electron/read-worker.js', 'dist/electron/chunks/**', 'dist/electron/package.json', 'node_modules/onnxruntime-common/**']))
    expect(c.files).toEqual(expect.arrayContaining(['models/**', 'dist/renderer/**', 'dist/electron/**']))
    expect(c.extraMetadata.main).toBe('dist/electron/main.mjs')
  })
})
