/**
 * multipart/related (RFC 2046) for WADO-RS answers and STOW-RS requests.
 *
 * Why not dicomweb-client's decoder: that library needs a global XMLHttpRequest (absent in Node
 * and in Electron's main process), its network errors lose their cause (status 0, "request failed"),
 * it has no AbortSignal, and its multipartDecode silently drops a part whose closing boundary never
 * came. Orthanc ends a WADO-RS answer by closing the connection (no Content-Length), so a server
 * that dies mid-answer looks like a normal end of stream; only the missing close delimiter tells,
 * and this parser treats it as an error. One answer holds one instance here (see dicomweb.ts), so
 * the parser works on a whole buffer.
 */

export interface MultipartPart {
  /** header names lower-cased */
  headers: Record<string, string>
  body: Uint8Array
}

export class MultipartError extends Error {
  constructor(message: string, readonly partsBefore = 0) {
    super(message)
    this.name = 'MultipartError'
  }
}

/** Parameters of a Content-Type value, names lower-cased, quotes removed. */
export function parseContentType(value: string): { type: string; params: Record<string, string> } {
  const [type, ...rest] = splitOutsideQuotes(value, ';')
  const params: Record<string, string> = {}
  for (const p of rest) {
    const eq = p.indexOf('=')
    if (eq < 0) continue
    let v = p.slice(eq + 1).trim()
    if (v.startsWith('"') && v.endsWith('"') && v.length >= 2) v = v.slice(1, -1).replace(/\\(.)/g, '$1')
    params[p.slice(0, eq).trim().toLowerCase()] = v
  }
  return { type: type.trim().toLowerCase(), params }
}

function splitOutsideQuotes(s: string, sep: string): string[] {
  const out: string[] = []
  let cur = ''
  let quoted = false
  for (let i = 0; i < s.length; i++) {
    const c = s[i]
    if (c === '"' && s[i - 1] !== '\\') quoted = !quoted
    if (c === sep && !quoted) {
      out.push(cur)
      cur = ''
    } else cur += c
  }
  out.push(cur)
  return out
}

const CRLF = Buffer.from('\r\n')
const HEADER_END = Buffer.from('\r\n\r\n')
const MAX_HEADER_BYTES = 16 * 1024

/**
 * Split a multipart body into its parts. Throws MultipartError when the body has no opening
 * boundary, a part header is malformed, a part's Content-Length disagrees with its size, or the
 * close delimiter ("--boundary--") is missing: the body was cut short.
 */
export function parseMultipart(body: Uint8Array, boundary: string): MultipartPart[] {
  if (!boundary || boundary.length > 70) throw new MultipartError(`invalid multipart boundary "${boundary}"`)
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength)
  // A delimiter is CRLF "--" boundary; the first one may start the body without the CRLF.
  const dash = Buffer.from(`--${boundary}`)
  const delim = Buffer.concat([CRLF, dash])
  let at: number
  if (buf.subarray(0, dash.length).equals(dash)) at = dash.length
  else {
    const i = buf.indexOf(delim)
    if (i < 0) throw new MultipartError('the answer is not multipart: its opening boundary is missing')
    at = i + delim.length // anything before it is preamble, ignored
  }
  const parts: MultipartPart[] = []
  for (;;) {
    // after a delimiter: "--" closes, else optional transport padding then CRLF
    if (buf[at] === 0x2d && buf[at + 1] === 0x2d) return parts
    while (buf[at] === 0x20 || buf[at] === 0x09) at++
    if (at + 2 > buf.length) throw new MultipartError(`the answer ends after ${parts.length} complete part(s), without its closing boundary: it was cut short`, parts.length)
    if (buf[at] !== 0x0d || buf[at + 1] !== 0x0a) throw new MultipartError(`part ${parts.length + 1}: malformed boundary line`, parts.length)
    at += 2
    const headers: Record<string, string> = {}
    if (buf[at] === 0x0d && buf[at + 1] === 0x0a) at += 2 // a part without headers
    else {
      const end = buf.indexOf(HEADER_END, at)
      if (end < 0 || end - at > MAX_HEADER_BYTES) {
        throw new MultipartError(end < 0 ? `part ${parts.length + 1}: the answer ends inside the part's headers: it was cut short` : `part ${parts.length + 1}: headers longer than ${MAX_HEADER_BYTES} bytes`, parts.length)
      }
      for (const line of buf.toString('latin1', at, end).split('\r\n')) {
        const colon = line.indexOf(':')
        if (colon <= 0) throw new MultipartError(`part ${parts.length + 1}: malformed header line "${line.slice(0, 80)}"`, parts.length)
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
      }
      at = end + HEADER_END.length
    }
    const next = buf.indexOf(delim, at)
    if (next < 0) throw new MultipartError(`part ${parts.length + 1} is cut short: the answer ends without its closing boundary`, parts.length)
    const partBody = new Uint8Array(buf.buffer, buf.byteOffset + at, next - at)
    const declared = headers['content-length']
    if (declared !== undefined && Number(declared) !== partBody.byteLength) {
      throw new MultipartError(`part ${parts.length + 1}: Content-Length says ${declared} bytes but the part holds ${partBody.byteLength}`, parts.length)
    }
    parts.push({ headers, body: partBody })
    at = next + delim.length
  }
}

/** Build a multipart/related body (STOW-RS); returns the body and its Content-Type. */
export function buildMultipart(parts: { contentType: string; body: Uint8Array }[], type: string): { body: Uint8Array; contentType: string } {
  const boundary = `scn-studio-${crypto.randomUUID()}`
  const chunks: Uint8Array[] = []
  for (const p of parts) {
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Type: ${p.contentType}\r\nContent-Length: ${p.body.byteLength}\r\n\r\n`, 'latin1'), p.body, CRLF)
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`, 'latin1'))
  return { body: Buffer.concat(chunks), contentType: `multipart/related; type="${type}"; boundary=${boundary}` }
}
