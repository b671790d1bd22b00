#!/usr/bin/env node
// `npm start -- <path>`: build the Electron host (and the renderer if it is missing or stale) and launch
// the desktop app, opening <path> (a CT file or DICOM folder) if given.
import { spawn, spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { resolve } from 'node:path'
import { register } from 'tsx/esm/api'

register()
const { findElectronBinary, electronVersion } = await import('../src-main/hosts/electron/binary.ts')
const { ensureRendererBuilt } = await import('../src-main/hosts/web/renderer-build.ts')

const root = fileURLToPath(new URL('..', import.meta.url))
const bin = findElectronBinary()
if ('missing' in bin) {
  const version = electronVersion()
  console.error(`${bin.missing}
SCN Studio's desktop app cannot start here. Either:
  - install the binary on a machine with internet:  npx install-electron   (or: node node_modules/electron/install.js)
  - or set ELECTRON_OVERRIDE_DIST_PATH to a folder holding an Electron ${version} binary
  - or use the browser version, which needs no Electron:  npm run serve -- <path>`)
  process.exit(1)
}

const run = (cmd, args) => {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' })
  if (r.status !== 0) process.exit(r.status ?? 1)
}
// missing or older than its sources: built now, so a fresh clone needs only `npm ci`
try {
  ensureRendererBuilt(resolve(root, 'dist/renderer'), (line) => console.log(line))
} catch (e) {
  console.error(`error: ${e.message}`)
  process.exit(1)
}
run(process.execPath, [resolve(root, 'scripts/build-electron.mjs')])

const args = process.argv.slice(2).filter((a) => a !== '--')
const target = args.find((a) => !a.startsWith('-'))
const child = spawn(bin.path, [resolve(root, 'dist/electron'), ...(target ? [resolve(target)] : [])], { cwd: root, stdio: 'inherit' })
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)))
