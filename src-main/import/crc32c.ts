/**
 * CRC-32C (Castagnoli), the checksum of LevelDB blocks and of TensorFlow tensor-bundle entries,
 * with LevelDB's "mask" (a rotation plus a constant, so that a CRC stored inside CRC'd data does
 * not make the outer CRC trivial).
 */
const TABLE = (() => {
  const t = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1
    t[n] = c >>> 0
  }
  return t
})()

/** Continue a CRC-32C over more bytes (start with crc = 0). */
export function crc32cExtend(crc: number, bytes: Uint8Array): number {
  let c = ~crc >>> 0
  for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8)
  return ~c >>> 0
}

export function crc32c(bytes: Uint8Array): number {
  return crc32cExtend(0, bytes)
}

const MASK_DELTA = 0xa282ead8

export function maskCrc(crc: number): number {
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + MASK_DELTA) >>> 0
}

export function unmaskCrc(masked: number): number {
  const rot = (masked - MASK_DELTA) >>> 0
  return ((rot >>> 17) | (rot << 15)) >>> 0
}
