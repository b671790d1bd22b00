/**
 * Binary frames: how voxels cross the boundary on every transport (HTTP body, IPC buffer).
 *
 *   offset 0   'SCNF'                      magic, 4 bytes
 *   offset 4   u32 little-endian           byte length L of the JSON header
 *   offset 8   L bytes of UTF-8 JSON       the header (geometry, ids, version)
 *   ...        zero padding                so the payload starts on an 8-byte boundary
 *   offset P   payload                     voxels, little-endian, x fastest
 *
 * The alignment lets the receiver view the payload as Int16Array/Uint8Array without copying.
 * The header travels inside the frame so one buffer is self-describing on every wire.
 */
import type { z } from 'zod'
import { ContractError, describeIssues } from './errors.js'
import type { DataType, DataTypeArrays, Frame } from './services.js'

const MAGIC = [0x53, 0x43, 0x4e, 0x46] // 'SCNF'
const BYTES: Record<DataType, number> = { int16: 2, uint8: 1 }

function align8(n: number): number {
  return (n + 7) & ~7
}

/**
 * A frame as two parts: the prefix (magic, length, header, padding) and a view on the voxels.
 * Streams (the web host's HTTP body) write both without copying the voxels into a new buffer.
 */
export function encodeFrameParts(header: unknown, data: Int16Array | Uint8Array): [Uint8Array<ArrayBuffer>, Uint8Array] {
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error('SCN Studio frames need a little-endian machine')
  const head = new TextEncoder().encode(JSON.stringify(header))
  const prefix = new Uint8Array(align8(8 + head.byteLength))
  prefix.set(MAGIC, 0)
  new DataView(prefix.buffer).setUint32(4, head.byteLength, true)
  prefix.set(head, 8)
  return [prefix, new Uint8Array(data.buffer, data.byteOffset, data.byteLength)]
}

/** Encode header + voxels into one buffer (IPC, and the client's request bodies). */
export function encodeFrame(header: unknown, data: Int16Array | Uint8Array): Uint8Array<ArrayBuffer> {
  const [prefix, payload] = encodeFrameParts(header, data)
  const out = new Uint8Array(prefix.byteLength + payload.byteLength)
  out.set(prefix, 0)
  out.set(payload, prefix.byteLength)
  return out
}

/**
 * Decode and validate a frame. `where` names the channel for error messages. The returned array
 * is a view on `bytes` when the payload is aligned in memory, else a copy.
 */
export function decodeFrame<H extends z.ZodType, D extends DataType>(
  where: string,
  bytes: Uint8Array | ArrayBuffer,
  headerSchema: H,
  dataType: D,
): Frame<z.infer<H>, D> {
  const buf = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes)
  if (buf.byteLength < 8 || MAGIC.some((b, i) => buf[i] !== b)) {
    throw new ContractError('bad-request', `${where}: the body is not an SCN binary frame (it must start with 'SCNF')`)
  }
  const headLen = new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getUint32(4, true)
  if (8 + headLen > buf.byteLength) throw new ContractError('bad-request', `${where}: the frame is truncated (header of ${headLen} bytes does not fit)`)
  let raw: unknown
  try {
    raw = JSON.parse(new TextDecoder().decode(buf.subarray(8, 8 + headLen)))
  } catch (e) {
    throw new ContractError('bad-request', `${where}: the frame header is not valid JSON (${(e as Error).message})`)
  }
  const parsed = headerSchema.safeParse(raw)
  if (!parsed.success) throw new ContractError('bad-request', `${where}: invalid frame header: ${describeIssues(parsed.error)}`)
  const header = parsed.data as z.infer<H> & { dataType?: string; geometry?: { dims: number[] } }
  if (header.dataType !== undefined && header.dataType !== dataType) {
    throw new ContractError('bad-request', `${where}: the frame holds ${header.dataType} voxels, expected ${dataType}`)
  }
  const payloadOffset = align8(8 + headLen)
  const payloadBytes = buf.byteLength - payloadOffset
  const bpv = BYTES[dataType]
  if (header.geometry) {
    const n = header.geometry.dims.reduce((a, b) => a * b, 1)
    if (payloadBytes !== n * bpv) {
      throw new ContractError(
        'bad-request',
        `${where}: the frame carries ${payloadBytes} bytes of voxels but its geometry ${header.geometry.dims.join('×')} needs ${n * bpv}`,
      )
    }
  }
  const start = buf.byteOffset + payloadOffset
  let data: Int16Array | Uint8Array
  if (dataType === 'uint8') data = new Uint8Array(buf.buffer, start, payloadBytes)
  else if (start % 2 === 0) data = new Int16Array(buf.buffer, start, payloadBytes / 2)
  else data = new Int16Array(buf.slice(payloadOffset).buffer)
  return { header, data: data as DataTypeArrays[D] }
}
