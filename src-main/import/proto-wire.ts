/**
 * The protobuf wire format at the level we need it: varints, and walking the fields of a message
 * while keeping each field's exact bytes. We use it for TensorFlow's small bundle protos and to
 * rewrite ONNX initializers in place: walking raw fields, instead of decoding into objects and
 * re-encoding, keeps every field we do not touch byte for byte (unknown fields included) without
 * needing a complete .proto schema.
 */

/** Thrown on malformed input; callers turn it into an ImportError naming the file. */
export class WireError extends Error {}

export const WIRE = { varint: 0, fixed64: 1, bytes: 2, fixed32: 5 } as const

/**
 * Unsigned varint (up to 64 bits) as a JS number. Values above 2^53 cannot be represented exactly
 * and are rejected: no offset, size or shape in a checkpoint we can read comes near that.
 */
export function readVarint(buf: Uint8Array, pos: number, end = buf.length): [value: number, next: number] {
  let value = 0
  let scale = 1
  for (let i = 0; i < 10; i++) {
    if (pos >= end) throw new WireError('a varint runs past the end of its data')
    const b = buf[pos++]
    value += (b & 0x7f) * scale
    if ((b & 0x80) === 0) {
      if (!Number.isSafeInteger(value)) throw new WireError(`a varint (${value}) is larger than 2^53`)
      return [value, pos]
    }
    scale *= 128
  }
  throw new WireError('a varint is longer than 10 bytes')
}

export function encodeVarint(value: number): Uint8Array {
  if (!Number.isSafeInteger(value) || value < 0) throw new WireError(`cannot encode ${value} as an unsigned varint`)
  const out: number[] = []
  let v = value
  while (v >= 128) {
    out.push((v % 128) | 0x80)
    v = Math.floor(v / 128)
  }
  out.push(v)
  return Uint8Array.from(out)
}

export interface WireField {
  field: number
  wireType: number
  /** varint value (wire type 0) or fixed32 value (wire type 5, unsigned) */
  num: number
  /** payload of a length-delimited field (wire type 2), or the 8 raw bytes of a fixed64 */
  bytes: Uint8Array
  /** the whole field, tag included, as it appears in the message */
  raw: Uint8Array
}

/** All fields of one message, in order. */
export function readFields(buf: Uint8Array, start = 0, end = buf.length): WireField[] {
  const out: WireField[] = []
  let pos = start
  while (pos < end) {
    const begin = pos
    let tag: number
    ;[tag, pos] = readVarint(buf, pos, end)
    const field = Math.floor(tag / 8)
    const wireType = tag % 8
    if (field === 0) throw new WireError('a field number is 0')
    let num = 0
    let bytes: Uint8Array = buf.subarray(pos, pos)
    switch (wireType) {
      case WIRE.varint:
        ;[num, pos] = readVarintLoose(buf, pos, end)
        break
      case WIRE.fixed64:
        if (pos + 8 > end) throw new WireError('a fixed64 field runs past the end of its message')
        bytes = buf.subarray(pos, pos + 8)
        pos += 8
        break
      case WIRE.bytes: {
        let len: number
        ;[len, pos] = readVarint(buf, pos, end)
        if (pos + len > end) throw new WireError(`field ${field} (${len} bytes) runs past the end of its message`)
        bytes = buf.subarray(pos, pos + len)
        pos += len
        break
      }
      case WIRE.fixed32:
        if (pos + 4 > end) throw new WireError('a fixed32 field runs past the end of its message')
        num = (buf[pos] | (buf[pos + 1] << 8) | (buf[pos + 2] << 16) | (buf[pos + 3] << 24)) >>> 0
        pos += 4
        break
      default:
        throw new WireError(`unsupported wire type ${wireType} (field ${field})`)
    }
    out.push({ field, wireType, num, bytes, raw: buf.subarray(begin, pos) })
  }
  return out
}

/**
 * Varint fields of unknown meaning may be negative int64s (10 bytes, > 2^53): keep walking, the
 * raw bytes are preserved anyway; only values we interpret go through the strict readVarint.
 */
function readVarintLoose(buf: Uint8Array, pos: number, end: number): [number, number] {
  try {
    return readVarint(buf, pos, end)
  } catch (e) {
    if (!(e instanceof WireError) || /past the end|longer than/.test(e.message)) throw e
    let p = pos
    while (buf[p] & 0x80) p++
    return [Number.NaN, p + 1]
  }
}

/** Packed repeated varints (proto3 default for repeated int64). */
export function readPackedVarints(bytes: Uint8Array): number[] {
  const out: number[] = []
  let pos = 0
  while (pos < bytes.length) {
    let v: number
    ;[v, pos] = readVarint(bytes, pos)
    out.push(v)
  }
  return out
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0
  for (const p of parts) n += p.length
  const out = new Uint8Array(n)
  let o = 0
  for (const p of parts) {
    out.set(p, o)
    o += p.length
  }
  return out
}

export function tag(field: number, wireType: number): Uint8Array {
  return encodeVarint(field * 8 + wireType)
}

export function varintField(field: number, value: number): Uint8Array {
  return concatBytes([tag(field, WIRE.varint), encodeVarint(value)])
}

export function bytesField(field: number, payload: Uint8Array): Uint8Array {
  return concatBytes([tag(field, WIRE.bytes), encodeVarint(payload.length), payload])
}

export function fixed32Field(field: number, value: number): Uint8Array {
  const b = new Uint8Array(4)
  new DataView(b.buffer).setUint32(0, value >>> 0, true)
  return concatBytes([tag(field, WIRE.fixed32), b])
}

export const utf8 = new TextDecoder('utf-8', { fatal: false })
export const utf8Encode = (s: string): Uint8Array => new TextEncoder().encode(s)
