/**
 * The Electron wire without Electron: what ipcMain.handle('scn:<channel>') does with a message.
 * Kept free of the `electron` import so the same validation is unit-tested under plain Node.
 */
import { dispatch, frameBytes, toErrorPayload } from '../../../src-shared/contract/validate.js'
import { channelsOf } from '../../../src-shared/contract/services.js'
import { IPC_PREFIX, type WireResult } from '../../../src-shared/contract/wire.js'
import type { ServicesImpl } from '../../../src-shared/contract/services.js'

/** Every IPC channel the preload may use: the contract's channels, prefixed. */
export function ipcChannels(): string[] {
  return channelsOf().map((c) => IPC_PREFIX + c)
}

/**
 * Handle one invoke. Never throws: Electron would turn a thrown error into a string with a prefix
 * and lose its code, so errors travel in the envelope.
 */
export async function handleIpc(services: ServicesImpl, ipcChannel: string, payload: unknown, senderTrusted: boolean): Promise<WireResult> {
  try {
    if (!senderTrusted) return { ok: false, error: { code: 'forbidden', message: 'IPC from a frame that is not the SCN Studio renderer is refused' } }
    if (typeof ipcChannel !== 'string' || !ipcChannel.startsWith(IPC_PREFIX)) {
      return { ok: false, error: { code: 'bad-request', message: `IPC channel '${String(ipcChannel).slice(0, 80)}' is not an SCN channel` } }
    }
    const r = await dispatch(services, ipcChannel.slice(IPC_PREFIX.length), payload)
    return { ok: true, value: r.kind === 'json' ? r.value : frameBytes(r.parts) }
  } catch (e) {
    return { ok: false, error: toErrorPayload(e) }
  }
}
