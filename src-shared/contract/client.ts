/**
 * Transport-agnostic client core. The renderer creates one client over whichever transport its host
 * gives it (web: fetch + WebSocket, electron: window.scn) and codes only against ScnClient.
 *
 *   const scn = createScnClient(transport)
 *   const r = await scn.volumes.open({ path })
 *   const { header, data } = await scn.volumes.getVoxels({ volumeId })   // data: Int16Array
 *   const off = scn.segmentation.onProgress((p) => ...)                   // off() unsubscribes
 *
 * Requests are validated before they leave (a bug in the renderer shows up as a clear
 * ContractError at the call site) and responses/events after they arrive.
 */
import { ContractError } from './errors.js'
import { encodeFrame } from './frame.js'
import { ErrorCodeSchema } from './schemas.js'
import { CONTRACT, EVENTS, type EventName, type EventPayload, type MethodDef, type ServiceApi, type ServiceName } from './services.js'
import { validateEvent, validateRequest, validateResponse } from './validate.js'

/** What a host's wire must provide. Payloads are JSON values or frame bytes (Uint8Array). */
export interface Transport {
  /** Resolve with the JSON value or frame bytes; reject with a ContractError (use `errorFromPayload`). */
  invoke(channel: string, payload: unknown): Promise<unknown>
  /** Receive every event; return an unsubscribe function. */
  onEvent(listener: (event: string, payload: unknown) => void): () => void
}

type EventsOf<S extends string> = {
  [E in EventName as E extends `${S}.${infer N}` ? N : never]: (listener: (payload: EventPayload<E>) => void) => () => void
}

export type ScnClient = { [S in ServiceName]: ServiceApi<S> & EventsOf<S> }

/** Rebuild a ContractError from a wire error payload (unknown codes become 'failed'). */
export function errorFromPayload(payload: unknown, fallback = 'the request failed'): ContractError {
  const p = payload as { code?: unknown; message?: unknown } | undefined
  const code = ErrorCodeSchema.safeParse(p?.code)
  return new ContractError(code.success ? code.data : 'failed', typeof p?.message === 'string' ? p.message : fallback)
}

export function createScnClient(transport: Transport): ScnClient {
  // One dispatcher for all events so each subscription does not cost a transport listener.
  const listeners = new Map<string, Set<(p: unknown) => void>>()
  let unsubscribeTransport: (() => void) | undefined
  function subscribe(event: string, listener: (p: unknown) => void): () => void {
    if (!unsubscribeTransport) {
      unsubscribeTransport = transport.onEvent((name, raw) => {
        const set = listeners.get(name)
        if (!set?.size) return
        let payload: unknown
        try {
          payload = validateEvent(name, raw)
        } catch (e) {
          console.error(`SCN: dropped an invalid event: ${(e as Error).message}`)
          return
        }
        for (const l of set) l(payload)
      })
    }
    let set = listeners.get(event)
    if (!set) listeners.set(event, (set = new Set()))
    set.add(listener)
    return () => {
      set.delete(listener)
    }
  }

  const client: Record<string, Record<string, unknown>> = {}
  for (const [service, methods] of Object.entries(CONTRACT)) {
    const api: Record<string, unknown> = {}
    for (const [method, def] of Object.entries(methods as Record<string, MethodDef>)) {
      const channel = `${service}.${method}`
      api[method] = async (arg: unknown) => {
        let payload: unknown
        if (def.kind === 'binary-in') {
          const frame = arg as { header: unknown; data: Int16Array | Uint8Array }
          payload = encodeFrame(frame.header, frame.data)
        } else payload = arg ?? {}
        validateRequest(channel, payload)
        const raw = await transport.invoke(channel, payload)
        return validateResponse(channel, raw)
      }
    }
    for (const event of Object.keys(EVENTS)) {
      if (!event.startsWith(`${service}.`)) continue
      api[event.slice(service.length + 1)] = (listener: (p: unknown) => void) => subscribe(event, listener)
    }
    client[service] = api
  }
  return client as unknown as ScnClient
}
