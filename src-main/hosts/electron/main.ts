/**
 * Electron main process: one secure window over the built renderer, the contract over IPC, and
 * nothing else. All behaviour lives in the service layer (src-main/services, tested under Node);
 * this file only adapts it to Electron: window, protocol, IPC, dialogs, single instance.
 */
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { app, BrowserWindow, dialog, ipcMain, protocol, safeStorage, session, type IpcMainInvokeEvent, type WebContents } from 'electron'
import { sealStoredSecrets, useSecretSealer } from '../../pacs/servers.js'
import { IPC_EVENT, IPC_PREFIX } from '../../../src-shared/contract/wire.js'
import { createServices } from '../../services/index.js'
import { resolveStatic } from '../web/static.js'
import { handleIpc, ipcChannels } from './ipc.js'
import { APP_ENTRY, APP_HOST, APP_SCHEME, CSP, isAppUrl, launchPathFromArgv } from './policy.js'

// Layout (dev and packaged alike): <root>/dist/electron/main.mjs, <root>/dist/renderer, <root>/models.
const root = resolve(import.meta.dirname, '../..')
// asarUnpack'ed files (models, the engine worker, onnxruntime's native code) live beside the archive.
const unpacked = root.replace(/app\.asar$/, 'app.asar.unpacked')
process.env.SCN_STUDIO_APP_MODELS ??= join(unpacked, 'models')
const rendererDir = join(root, 'dist', 'renderer')

protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, stream: true } }])

// A second launch hands its path to the first window (second-instance below) and exits at once.
if (!app.requestSingleInstanceLock()) app.exit(0)

const runtime = createServices({
  host: 'electron',
  appVersion: app.getVersion(),
  launchPath: (() => {
    const p = launchPathFromArgv(process.argv, app.isPackaged)
    return p ? resolve(p) : undefined
  })(),
  // Inference runs off the main thread: runScn starts a worker thread per run (dist/electron/worker-entry.mjs).
  async showOpenDialog(kind) {
    const win = BrowserWindow.getFocusedWindow()
    const opts = {
      title: kind === 'file' ? 'Open a CT' : 'Open a DICOM folder',
      properties: [kind === 'file' ? 'openFile' : 'openDirectory'] as ('openFile' | 'openDirectory')[],
      filters: kind === 'file' ? [{ name: 'CT volumes', extensions: ['nii', 'gz', 'nrrd', 'nhdr', 'mha', 'mhd', 'dcm'] }] : undefined,
    }
    const r = win ? await dialog.showOpenDialog(win, opts) : await dialog.showOpenDialog(opts)
    return r.canceled || r.filePaths.length === 0 ? null : r.filePaths[0]
  },
  // Where an export may go outside the workspace: a file name, or a folder (nnU-Net dataset).
  async showSaveDialog(kind, defaultPath) {
    const win = BrowserWindow.getFocusedWindow()
    if (kind === 'folder') {
      const opts = { title: 'Export into folder', defaultPath, properties: ['openDirectory', 'createDirectory'] as ('openDirectory' | 'createDirectory')[] }
      const r = win ? await dialog.showOpenDialog(win, opts) : await dialog.showOpenDialog(opts)
      return r.canceled || r.filePaths.length === 0 ? null : r.filePaths[0]
    }
    const opts = { title: 'Export as', defaultPath }
    const r = win ? await dialog.showSaveDialog(win, opts) : await dialog.showSaveDialog(opts)
    return r.canceled || !r.filePath ? null : r.filePath
  },
})

let mainWindow: BrowserWindow | undefined

/** Only our own page, in its main frame, may call the contract. */
function trustedSender(e: IpcMainInvokeEvent | Electron.IpcMainEvent): boolean {
  const frame = e.senderFrame
  return !!frame && frame === e.sender.mainFrame && isAppUrl(frame.url)
}

function hardenContents(contents: WebContents): void {
  contents.setWindowOpenHandler(() => ({ action: 'deny' }))
  contents.on('will-navigate', (e) => e.preventDefault())
  contents.on('will-redirect', (e) => e.preventDefault())
  contents.on('will-attach-webview', (e) => e.preventDefault())
}

function createWindow(): BrowserWindow {
  const win = new BrowserWindow({
    width: 1440,
    height: 900,
    // the narrowest window whose toolbar keeps every control on screen (test/e2e/ui-workstation.test.ts
    // checks 1024x700; below it the presets and help were cut off)
    minWidth: 1024,
    minHeight: 700,
    title: 'SCN Studio',
    show: false,
    backgroundColor: '#111418',
    // Written out here (not built by a helper) so reviewers and electronegativity see every flag.
    webPreferences: {
      preload: join(root, 'dist', 'electron', 'preload.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      disableBlinkFeatures: 'Auxclick',
      spellcheck: false,
    },
  })
  win.once('ready-to-show', () => win.show())
  void win.loadURL(APP_ENTRY)
  return win
}

app.on('web-contents-created', (_e, contents) => hardenContents(contents))

app.on('second-instance', (_e, argv) => {
  const p = launchPathFromArgv(argv, app.isPackaged)
  if (p && existsSync(resolve(p))) {
    runtime.access.grant(resolve(p))
    runtime.events.emit('app.onOpenRequest', { path: resolve(p) })
  }
  if (mainWindow) {
    if (mainWindow.isMinimized()) mainWindow.restore()
    mainWindow.focus()
  }
})

app.whenReady().then(() => {
  // PACS credentials live sealed by the OS keychain in the desktop app (issue 16): seal what the
  // CLI stored in plain text (0600) before the app first ran
  if (safeStorage.isEncryptionAvailable()) {
    useSecretSealer({
      name: 'safeStorage',
      seal: (plain) => safeStorage.encryptString(plain).toString('base64'),
      open: (sealed) => safeStorage.decryptString(Buffer.from(sealed, 'base64')),
    })
    void sealStoredSecrets().catch((e) => console.error(`PACS servers: ${(e as Error).message}`))
  }
  // No permission (camera, notifications, geolocation, ...) is ever needed.
  session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) => callback(false))
  session.defaultSession.setPermissionCheckHandler(() => false)
  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CSP] } })
  })
  protocol.handle(APP_SCHEME, (request) => {
    const url = new URL(request.url)
    const file = url.host === APP_HOST ? resolveStatic(rendererDir, url.pathname) : undefined
    if (!file) return new Response('not found', { status: 404 })
    return new Response(new Uint8Array(file.body), { headers: { 'content-type': file.type, 'content-security-policy': CSP, 'x-content-type-options': 'nosniff' } })
  })
  for (const channel of ipcChannels()) {
    ipcMain.handle(channel, (e, payload) => handleIpc(runtime.impl, channel, payload, trustedSender(e)))
  }
  ipcMain.on(`${IPC_PREFIX}dropped`, (e, path: unknown) => {
    // The preload sends this for a file or folder the user dropped (webUtils.getPathForFile). The
    // renderer names it, so it grants one item, read-only, until the next drop (PathAccess.grantDropped).
    if (trustedSender(e)) runtime.access.grantDropped(path)
  })
  runtime.events.subscribe((event, payload) => {
    for (const w of BrowserWindow.getAllWindows()) if (!w.isDestroyed()) w.webContents.send(IPC_EVENT, { event, payload })
  })
  mainWindow = createWindow()
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) mainWindow = createWindow()
  })
})

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit()
})

// Write pending autosaves and release case locks before the process exits.
let disposed = false
app.on('before-quit', (e) => {
  if (disposed) return
  e.preventDefault()
  disposed = true
  void runtime.dispose().finally(() => app.quit())
})
