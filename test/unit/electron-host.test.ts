/**
 * The Electron host without Electron: its policy functions, the preload bundle (one global, checked
 * channels), the channel list against the contract, and electron-builder.yml against
 * electron-builder's own schema. The live window is covered by test/e2e/electron.test.ts.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { CHANNEL_NAMES, channelsOf, EVENT_NAMES, EVENTS } from '../../src-main/contract/index.js'
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
    expect(c.asarUnpack).toEqual(expect.arrayContaining(['models/**', 'node_modules/onnxruntime-node/**', '**/*.node', 'dist/electron/worker-entry.mjs', 'dist/electron/worker.js']))
    expect(c.files).toEqual(expect.arrayContaining(['models/**', 'dist/renderer/**', 'dist/electron/**']))
    expect(c.extraMetadata.main).toBe('dist/electron/main.mjs')
  })
})
