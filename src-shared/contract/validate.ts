/**
 * Validation and dispatch shared by both hosts, so a bad message gets the same clear error from the
 * Electron IPC handler and from the web host. No Node or DOM APIs here.
 */
import type { z } from 'zod'
import { ContractError, describeIssues } from './errors.js'
import { decodeFrame, encodeFrameParts } from './frame.js'
import { EVENTS, lookupMethod, type EventName, type MethodDef, type ServicesImpl } from './services.js'

function parseWith<T extends z.ZodType>(schema: T, value: unknown, what: string): z.infer<T> {
  const r = schema.safeParse(value)
  if (!r.success) throw new ContractError('bad-request', `${what}: ${describeIssues(r.error)}`)
  return r.data
}

export function resolveChannel(channel: unknown): { service: string; method: string; def: MethodDef } {
  if (typeof channel !== 'string') throw new ContractError('bad-request', `the channel name must be a string, got ${typeof channel}`)
  const found = lookupMethod(channel)
  if (!found) throw new ContractError('not-found', `unknown channel '${channel.slice(0, 80)}': no such service method in the contract`)
  return found
}

/** Parse a request for `channel`: JSON for json/binary-out methods, a frame (bytes) for binary-in. */
export function validateRequest(channel: string, payload: unknown): unknown {
  const { def } = resolveChannel(channel)
  if (def.kind === 'binary-in') {
    if (!(payload instanceof Uint8Array || payload instanceof ArrayBuffer)) {
      throw new ContractError('bad-request', `${channel}: the request must be a binary frame (bytes), not JSON`)
    }
    const frame = decodeFrame(channel, payload, def.header, def.dataType)
    const want = def.payloadBytes?.(frame.header)
    if (want !== undefined && frame.data.byteLength !== want) {
      throw new ContractError('bad-request', `${channel}: the frame carries ${frame.data.byteLength} payload bytes but its header calls for ${want}`)
    }
    return frame
  }
  if (payload instanceof Uint8Array || payload instanceof ArrayBuffer) {
    throw new ContractError('bad-request', `${channel}: the request must be JSON, not bytes`)
  }
  return parseWith(def.input, payload, `${channel}: invalid request`)
}

/** Validate a JSON response (used by the client core, and by hosts in tests). */
export function validateResponse(channel: string, payload: unknown): unknown {
  const { def } = resolveChannel(channel)
  if (def.kind === 'binary-out') {
    if (!(payload instanceof Uint8Array || payload instanceof ArrayBuffer)) throw new ContractError('failed', `${channel}: expected a binary frame in the response`)
    return decodeFrame(channel, payload, def.header, def.dataType)
  }
  return parseWith(def.output, payload, `${channel}: invalid response`)
}

export function validateEvent(event: string, payload: unknown): unknown {
  if (!Object.hasOwn(EVENTS, event)) throw new ContractError('bad-request', `unknown event '${String(event).slice(0, 80)}'`)
  return parseWith(EVENTS[event as EventName], payload, `${event}: invalid event`)
}

/** A host's answer: JSON, or a frame as [prefix, voxels] (see frameBytes for one buffer). */
export type DispatchResult = { kind: 'json'; value: unknown } | { kind: 'binary'; parts: [Uint8Array, Uint8Array] }

/** One buffer for a binary answer (IPC); streams write the two parts instead. */
export function frameBytes(parts: [Uint8Array, Uint8Array]): Uint8Array {
  const out = new Uint8Array(parts[0].byteLength + parts[1].byteLength)
  out.set(parts[0], 0)
  out.set(parts[1], parts[0].byteLength)
  return out
}

/**
 * Validate, call the service implementation, validate its answer. Both hosts are thin wrappers
 * around this. Responses are checked too: a service that breaks the contract fails loudly here,
 * in main, instead of confusing the renderer.
 */
export async function dispatch(services: ServicesImpl, channel: string, payload: unknown): Promise<DispatchResult> {
  const { service, method, def } = resolveChannel(channel)
  const request = validateRequest(channel, payload)
  const impl = (services as unknown as Record<string, Record<string, (r: unknown) => Promise<unknown>>>)[service][method]
  const result = await impl.call((services as unknown as Record<string, object>)[service], request)
  if (def.kind === 'binary-out') {
    const frame = result as { header: unknown; data: Int16Array | Uint8Array }
    const header = parseWith(def.header, frame.header, `${channel}: the service returned an invalid frame header`)
    return { kind: 'binary', parts: encodeFrameParts(header, frame.data) }
  }
  return { kind: 'json', value: parseWith(def.output, result, `${channel}: the service returned an invalid response`) }
}

/** Turn anything thrown into the wire error shape. */
export function toErrorPayload(e: unknown): { code: ContractError['code']; message: string } {
  if (e instanceof ContractError) return e.toPayload()
  const err = e as { name?: string; message?: string; code?: string }
  if (err?.name === 'VolumeError') return { code: err.code === 'not-found' ? 'not-found' : 'bad-input', message: err.message ?? String(e) }
  if (err?.name === 'ModelCardError') return { code: 'bad-input', message: err.message ?? String(e) }
  if (err?.name === 'ModelNotFoundError') return { code: 'not-found', message: err.message ?? String(e) }
  if (err?.name === 'WorkspaceError') {
    const map: Record<string, ContractError['code']> = { 'not-found': 'not-found', 'bad-file': 'bad-input', 'bad-request': 'bad-request', exists: 'conflict', replaced: 'conflict' }
    return { code: map[err.code ?? ''] ?? 'failed', message: err.message ?? String(e) }
  }
  if (err?.name === 'CaseLockedError') return { code: 'conflict', message: err.message ?? String(e) }
  // a change that breaks a table rule (name in use, table full) is refused like a bad request, with the rule in words
  if (err?.name === 'LabelTableError') return { code: err.code === 'not-found' ? 'not-found' : 'bad-request', message: err.message ?? String(e) }
  if (err?.name === 'ExportError') return { code: err.code === 'exists' ? 'exists' : err.code === 'source' ? 'forbidden' : 'bad-input', message: err.message ?? String(e) }
  if (err?.name === 'AbortError') return { code: 'cancelled', message: err.message ?? 'cancelled' }
  return { code: 'failed', message: err?.message ?? String(e) }
}
