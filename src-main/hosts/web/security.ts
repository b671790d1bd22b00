/**
 * The web host's gatekeeping, as small pure functions so each rule is unit-tested on its own:
 * a per-launch token, same-origin only, a Host check against DNS rebinding, loopback by default.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto'
import { isIP } from 'node:net'
import { TOKEN_COOKIE } from '../../../src-shared/contract/wire.js'

export function newToken(): string {
  return randomBytes(24).toString('base64url')
}

export function tokensEqual(given: string | undefined | null, expected: string): boolean {
  if (!given) return false
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

/** Cookies ignore ports, so two servers on one machine need different cookie names. */
export function cookieName(port: number): string {
  return `${TOKEN_COOKIE}_${port}`
}

export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq < 0) continue
    if (part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim())
  }
  return undefined
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'))
}

/**
 * DNS rebinding: a page on evil.example resolving to 127.0.0.1 would send `Host: evil.example`.
 * On loopback we accept only loopback names with our port.
 */
export function hostAllowed(hostHeader: string | undefined, port: number, remote: boolean): boolean {
  if (remote) return true
  if (!hostHeader) return false
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(hostHeader)
  if (!m) return false
  const name = m[1].replace(/^\[|\]$/g, '')
  return isLoopback(name) && Number(m[2] ?? 80) === port
}

/**
 * Browsers send Origin on cross-origin requests, on every POST and on WebSocket handshakes.
 * Only our own origin (same scheme, host and port as the Host header) may talk to us.
 */
export function originAllowed(origin: string | undefined, hostHeader: string | undefined, secFetchSite?: string): boolean {
  if (secFetchSite && secFetchSite !== 'same-origin' && secFetchSite !== 'none') return false
  if (origin === undefined) return true // not a browser cross-origin request (curl, same-origin GET)
  if (!hostHeader) return false
  return origin === `http://${hostHeader}`
}

/** Binding anywhere but loopback must be explicit. */
export function checkBind(host: string, allowRemote: boolean): { ok: true; warning?: string } | { ok: false; error: string } {
  if (isLoopback(host)) return { ok: true }
  if (!allowRemote) {
    return {
      ok: false,
      error: `refusing to listen on ${host}: the web host serves your files and runs models, so it listens on 127.0.0.1 only. ` +
        `Use an SSH tunnel (ssh -L 8080:127.0.0.1:<port> gpu-box), or pass --allow-remote if you really mean to expose it`,
    }
  }
  return {
    ok: true,
    warning: `WARNING: listening on ${host}: anyone who can reach this port and learns the token can read the files you opened ` +
      `and write to the workspace. Traffic is plain HTTP (not encrypted). Prefer 127.0.0.1 with an SSH tunnel.`,
  }
}

/** Content-Security-Policy of the renderer page, shared with the Electron host. */
export const RENDERER_CSP = [
  "default-src 'self'",
  // WebAssembly (itk-wasm, codecs) needs wasm-unsafe-eval; nothing needs eval proper.
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self' blob:",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')
