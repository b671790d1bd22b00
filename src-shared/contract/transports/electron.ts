/**
 * The Electron wire as a Transport: a thin wrapper over `window.scn` (the preload's ScnBridge).
 * No Electron import here; the renderer passes the bridge in.
 */
import { errorFromPayload, type Transport } from '../client.js'
import type { ScnBridge } from '../wire.js'

export function createBridgeTransport(bridge: ScnBridge): Transport {
  return {
    async invoke(channel, payload) {
      const r = await bridge.invoke(channel, payload)
      if (!r.ok) throw errorFromPayload(r.error)
      return r.value
    },
    onEvent(listener) {
      return bridge.onEvent((m) => listener(m.event, m.payload))
    },
  }
}
