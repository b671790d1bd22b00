/**
 * The preload: exposes exactly one global, `window.scn` (the ScnBridge of the contract), through
 * contextBridge. Every channel is checked against the contract's list before it reaches IPC, and
 * nothing of ipcRenderer, Node or Electron leaks to the page. Bundled to CommonJS for the sandbox.
 */
import { contextBridge, ipcRenderer, webUtils } from 'electron'
import { CHANNEL_NAMES, EVENT_NAMES } from '../../../src-shared/contract/channels.js'
import { IPC_EVENT, IPC_PREFIX, type EventMessage, type ScnBridge, type WireResult } from '../../../src-shared/contract/wire.js'

const channels = new Set<string>(CHANNEL_NAMES)
const events = new Set<string>(EVENT_NAMES)

const bridge: ScnBridge = {
  host: 'electron',
  invoke(channel: string, payload: unknown): Promise<WireResult> {
    if (typeof channel !== 'string' || !channels.has(channel)) {
      return Promise.resolve({ ok: false, error: { code: 'not-found', message: `unknown channel '${String(channel).slice(0, 80)}'` } })
    }
    return ipcRenderer.invoke(IPC_PREFIX + channel, payload)
  },
  onEvent(listener: (message: EventMessage) => void): () => void {
    if (typeof listener !== 'function') throw new TypeError('window.scn.onEvent needs a function')
    // Hand the page only the message, never the IpcRendererEvent (it carries `sender`).
    const wrapped = (_e: unknown, m: EventMessage) => {
      if (m && typeof m.event === 'string' && events.has(m.event)) listener({ event: m.event, payload: m.payload })
    }
    ipcRenderer.on(IPC_EVENT, wrapped)
    return () => {
      ipcRenderer.removeListener(IPC_EVENT, wrapped)
    }
  },
  pathForFile(file: File): string {
    const path = webUtils.getPathForFile(file)
    // Dropping a file is the user opening it: tell main to allow this path (empty for non-disk Files).
    if (path) ipcRenderer.send(`${IPC_PREFIX}dropped`, path)
    return path
  },
}

contextBridge.exposeInMainWorld('scn', bridge)
