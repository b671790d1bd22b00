/**
 * The web host: the built renderer and the contract over HTTP + WebSocket, on 127.0.0.1 by
 * default, guarded by a per-launch token. A thin wire over the service layer: every call goes
 * through the same `dispatch` as the Electron host.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { WebSocketServer, type WebSocket } from 'ws'
import { ContractError, HTTP_STATUS } from '../../../src-shared/contract/errors.js'
import { dispatch, resolveChannel, toErrorPayload } from '../../../src-shared/contract/validate.js'
import type { MethodDef } from '../../../src-shared/contract/services.js'
import { BINARY_TYPE, CALL_PATH, EVENTS_PATH, JSON_TYPE, TOKEN_HEADER, TOKEN_META, TOKEN_QUERY, type EventMessage } from '../../../src-shared/contract/wire.js'
import type { ServiceRuntime } from '../../services/index.js'
import { checkBind, cookieName, hostAllowed, newToken, originAllowed, readCookie, RENDERER_CSP, tokensEqual } from './security.js'
import { defaultRendererDir, gzipped, injectToken, notBuiltPage, resolveStatic } from './static.js'

export interface WebHostOptions {
  runtime: ServiceRuntime
  host?: string
  /** 0 = a free port */
  port?: number
  allowRemote?: boolean
  rendererDir?: string
  /** fixed token (tests); default: random per launch */
  token?: string
  /** largest request body, bytes, on top of each call's own cap (a labelmap: its volume's voxels) */
  maxBodyBytes?: number
  /** where refused sockets and bodies are logged (default: stderr) */
  log?: (line: string) => void
}

export interface WebHost {
  url: string
  /** the URL to open: url + ?token= */
  openUrl: string
  port: number
  token: string
  warning?: string
  close(): Promise<void>
}

/** JSON calls are small: the largest legitimate one (an export request with a long path) is a few KB. */
const MAX_JSON = 1 << 20
/** The JSON header at the front of a binary frame (ids, geometry, version) */
const MAX_FRAME_HEADER = 64 * 1024
/** After a 413 the rest of the body is discarded for this long (so the client reads the answer), then the connection is cut. */
const DISCARD_GRACE_MS = 500

/** A body past its cap: answered 413 at once, and the connection is not kept. */
class BodyTooLargeError extends ContractError {
  readonly status = 413
  constructor(message: string) {
    super('bad-request', message)
  }
}

function sendJson(res: ServerResponse, status: number, value: unknown, extra: Record<string, string> = {}): void {
  const body = JSON.stringify(value)
  res.writeHead(status, { 'content-type': `${JSON_TYPE}; charset=utf-8`, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', ...extra })
  res.end(body)
}

function sendError(res: ServerResponse, e: unknown): void {
  const p = toErrorPayload(e)
  sendJson(res, (e as { status?: number }).status ?? HTTP_STATUS[p.code], p)
}

function align8(n: number): number {
  return (n + 7) & ~7
}

/**
 * Reads a request body, never past `limit` bytes. `refine` sees the bytes read so far while it
 * returns undefined, and may then name the exact limit (a binary frame's header says which volume
 * it is for, and that fixes its size). Past the limit: BodyTooLargeError, with nothing more kept.
 */
function readBody(req: IncomingMessage, limit: number, what: string, refine?: (head: Buffer) => number | undefined): Promise<Buffer> {
  const declared = Number(req.headers['content-length'])
  const tooLarge = (n: number | string) => new BodyTooLargeError(`${what}: the request body is ${n} bytes, more than the ${limit} bytes this call takes`)
  if (!refine && Number.isFinite(declared) && declared > limit) return Promise.reject(tooLarge(declared))
  // events, not `for await`: leaving an async iterator destroys the socket, and the 413 with it
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    let refined = !refine
    const fail = (e: unknown) => {
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('error', fail)
      chunks.length = 0 // release what was read
      reject(e)
    }
    const onData = (c: Buffer) => {
      size += c.length
      chunks.push(c)
      if (!refined) {
        try {
          const exact = refine!(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size))
          if (exact !== undefined) {
            refined = true
            limit = exact
            if (Number.isFinite(declared) && declared > limit) return fail(tooLarge(declared))
          }
        } catch (e) {
          return fail(e)
        }
      }
      if (size > limit) fail(tooLarge(Number.isFinite(declared) ? declared : `more than ${limit}`))
    }
    const onEnd = () => {
      req.off('data', onData)
      req.off('error', fail)
      resolve(Buffer.concat(chunks, size))
    }
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('error', fail)
  })
}

/**
 * The answer to a call whose body was not read to the end: the connection closes after it. The rest
 * of the body is dropped unread (nothing buffered) for a short grace, so the client sees the
 * answer instead of a reset, and then the socket is destroyed.
 */
function endUnreadBody(req: IncomingMessage, res: ServerResponse): void {
  if (!res.headersSent) res.setHeader('connection', 'close')
  req.on('data', () => {})
  req.resume()
  res.on('finish', () => setTimeout(() => req.socket.destroy(), DISCARD_GRACE_MS).unref())
  res.on('close', () => setTimeout(() => req.socket.destroy(), DISCARD_GRACE_MS).unref())
}

export async function startWebHost(opts: WebHostOptions): Promise<WebHost> {
  const bindHost = opts.host ?? '127.0.0.1'
  const bind = checkBind(bindHost, !!opts.allowRemote)
  if (!bind.ok) throw new Error(bind.error)
  const remote = !!opts.allowRemote
  const token = opts.token ?? newToken()
  const rendererDir = opts.rendererDir ?? defaultRendererDir()
  const maxBody = opts.maxBodyBytes ?? 2 ** 31 - 1
  const { runtime } = opts
  const log = opts.log ?? ((line: string) => process.stderr.write(`scn-studio serve: ${line}\n`))
  let port = 0

  const securityHeaders = {
    'content-security-policy': RENDERER_CSP,
    'x-content-type-options': 'nosniff',
    // The page URL carries the token: never leak it in a Referer.
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
  }

  /**
   * Where the token may come from. The query only on page loads (the printed link; it sets the
   * cookie): a URL with the token ends up in logs and history. API calls need the header (a cookie
   * alone would allow CSRF); the events socket takes the header (Node clients) or the cookie
   * (browsers cannot set headers on a WebSocket; gate() already refused foreign origins).
   */
  function authorised(req: IncomingMessage, url: URL, from: { query: boolean; cookie: boolean }): boolean {
    const header = req.headers[TOKEN_HEADER]
    if (tokensEqual(Array.isArray(header) ? header[0] : header, token)) return true
    if (from.query && tokensEqual(url.searchParams.get(TOKEN_QUERY), token)) return true
    return from.cookie && tokensEqual(readCookie(req.headers.cookie, cookieName(port)), token)
  }

  /**
   * The exact size of a binary frame for `channel`: its header names the open volume, whose voxel
   * count fixes the payload. A frame that is odd in any way (no magic, bad header, a volume that is
   * not open) keeps the header-only cap and is refused by dispatch with the same words as over IPC.
   */
  function frameLimit(def: MethodDef, headerOnly: number): (head: Buffer) => number | undefined {
    return (head) => {
      if (head.length < 8) return undefined
      if (head.readUInt32BE(0) !== 0x53434e46) return headerOnly // 'SCNF'
      const headLen = head.readUInt32LE(4)
      if (headLen > MAX_FRAME_HEADER) return headerOnly
      if (head.length < 8 + headLen) return undefined
      try {
        const header = JSON.parse(head.subarray(8, 8 + headLen).toString('utf8')) as { volumeId?: unknown }
        const dims = runtime.store.get(String(header?.volumeId)).ct.dims
        const bytesPerVoxel = def.kind === 'binary-in' && def.dataType === 'int16' ? 2 : 1
        return Math.min(maxBody, align8(8 + headLen) + dims[0] * dims[1] * dims[2] * bytesPerVoxel)
      } catch {
        return headerOnly
      }
    }
  }

  function gate(req: IncomingMessage): string | undefined {
    if (!hostAllowed(req.headers.host, port, remote)) return `Host '${req.headers.host ?? ''}' is not this server (DNS rebinding protection)`
    const site = req.headers['sec-fetch-site']
    // Opening the printed link from a chat or mail page is a cross-site navigation: allow page
    // loads (GET, navigate, not the API); everything else must come from our own origin.
    const navigation = req.method === 'GET' && req.headers['sec-fetch-mode'] === 'navigate' && !(req.url ?? '').startsWith('/api/')
    if (!navigation && !originAllowed(req.headers.origin, req.headers.host, Array.isArray(site) ? site[0] : site)) {
      return `requests from other origins are refused (Origin '${req.headers.origin ?? ''}')`
    }
    return undefined
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x')
    const refused = gate(req)
    if (refused) return sendJson(res, 403, { code: 'forbidden', message: refused })
    const isApi = url.pathname.startsWith('/api/')
    const page = url.pathname === '/' || url.pathname === '/index.html'
    if (!authorised(req, url, isApi ? { query: false, cookie: false } : { query: page, cookie: true })) {
      if (isApi) endUnreadBody(req, res)
      return sendJson(res, 401, {
        code: 'unauthorized',
        message: isApi
          ? `missing or wrong token: API calls carry it in the ${TOKEN_HEADER} header (never in the URL)`
          : 'missing or wrong token: open the exact URL the server printed (it ends in ?token=...)',
      })
    }
    if (url.pathname.startsWith(CALL_PATH)) {
      const channel = url.pathname.slice(CALL_PATH.length)
      let bodyRead = false
      try {
        if (req.method !== 'POST') throw Object.assign(new ContractError('bad-request', 'contract calls use POST'), { status: 405 })
        // Every body is capped by what its call needs, before a byte is kept: JSON methods take
        // MAX_JSON, a binary frame exactly its volume's voxels (+ header).
        const def = resolveChannel(channel).def
        const type = String(req.headers['content-type'] ?? '')
        let payload: unknown
        if (type.startsWith(BINARY_TYPE)) {
          const headerOnly = Math.min(maxBody, align8(8 + MAX_FRAME_HEADER))
          const body = def.kind === 'binary-in' ? await readBody(req, headerOnly, channel, frameLimit(def, headerOnly)) : await readBody(req, MAX_JSON, channel)
          payload = new Uint8Array(body.buffer, body.byteOffset, body.byteLength)
        } else if (type.startsWith(JSON_TYPE) || type === '') {
          const body = await readBody(req, MAX_JSON, channel)
          try {
            payload = body.length ? JSON.parse(body.toString('utf8')) : {}
          } catch (e) {
            throw new ContractError('bad-request', `${channel}: the request body is not valid JSON (${(e as Error).message})`)
          }
        } else throw new ContractError('bad-request', `${channel}: unsupported Content-Type '${type}' (use ${JSON_TYPE} or ${BINARY_TYPE})`)
        bodyRead = true
        const r = await dispatch(runtime.impl, channel, payload)
        if (r.kind === 'json') return sendJson(res, 200, r.value)
        // two writes: the voxels go out from the service's own array, never copied into a frame
        const [prefix, voxels] = r.parts
        res.writeHead(200, { 'content-type': BINARY_TYPE, 'content-length': prefix.byteLength + voxels.byteLength, 'cache-control': 'no-store' })
        res.write(prefix)
        res.end(voxels)
      } catch (e) {
        if (!bodyRead) {
          endUnreadBody(req, res)
          if (e instanceof BodyTooLargeError) log(`refused a request body: ${e.message}`)
        }
        if (!res.headersSent) sendError(res, e)
        else res.destroy()
      }
      return
    }
    if (isApi) return sendJson(res, 404, { code: 'not-found', message: `no such endpoint ${url.pathname}` })
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { code: 'bad-request', message: 'only GET here' })
    // First authenticated page load: remember the token in a cookie so scripts, workers and wasm load.
    const headers: Record<string, string> = { ...securityHeaders }
    if (page && tokensEqual(url.searchParams.get(TOKEN_QUERY), token)) {
      headers['set-cookie'] = `${cookieName(port)}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`
    }
    const file = resolveStatic(rendererDir, url.pathname)
    if (!file) {
      if (url.pathname === '/' || url.pathname === '/index.html') {
        res.writeHead(503, { ...headers, 'content-type': 'text/html; charset=utf-8' })
        return void res.end(notBuiltPage(rendererDir))
      }
      res.writeHead(404, { ...headers, 'content-type': 'text/plain' })
      return void res.end('not found')
    }
    let body: Buffer | string = file.body
    if (file.type.startsWith('text/html')) {
      body = injectToken(file.body.toString('utf8'), token, TOKEN_META)
      headers['cache-control'] = 'no-store'
    } else {
      // Vite names assets by content hash: they never change under the same name.
      if (url.pathname.startsWith('/assets/')) headers['cache-control'] = 'private, max-age=31536000, immutable'
      const gz = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? '')) ? gzipped(url.pathname, file) : undefined
      if (gz) {
        body = gz
        headers['content-encoding'] = 'gzip'
        headers['vary'] = 'Accept-Encoding'
      }
    }
    res.writeHead(200, { ...headers, 'content-type': file.type, 'content-length': String(Buffer.byteLength(body)) })
    res.end(req.method === 'HEAD' ? undefined : body)
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e) => {
      if (!res.headersSent) sendError(res, e)
      else res.destroy()
    })
  })

  // Events are small JSON text sent by us; the page never needs to send more than a close frame.
  const wss = new WebSocketServer({ noServer: true, maxPayload: 4 * 1024 })
  const sockets = new Set<WebSocket>()
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // node:http drops its own error handler on upgrade: without one a reset socket kills the process.
    // A page that goes away resets its socket (ECONNRESET, EPIPE): normal, not worth a log line.
    let upgraded = false
    socket.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ECONNRESET' || e.code === 'EPIPE') return
      log(`events socket error ${upgraded ? 'after' : 'before'} the handshake: ${e.message}`)
    })
    const url = new URL(req.url ?? '/', 'http://x')
    const refuse = (status: number, text: string) => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
    }
    if (url.pathname !== EVENTS_PATH) return refuse(404, 'Not Found')
    // WebSocket handshakes always carry Origin in browsers; gate() refuses foreign ones.
    if (gate(req)) return refuse(403, 'Forbidden')
    if (!authorised(req, url, { query: false, cookie: true })) return refuse(401, 'Unauthorized')
    wss.handleUpgrade(req, socket, head, (ws) => {
      upgraded = true
      sockets.add(ws)
      ws.on('close', () => sockets.delete(ws))
      // A malformed, oversized or unmasked frame: ws has already started closing the socket with the
      // matching status (1002 protocol error, 1009 too big); without this listener the 'error'
      // event would be unhandled and take the whole host down.
      ws.on('error', (e) => log(`closed an events socket: ${e.message}`))
      // The events socket is one-way: a message from the page is a client we do not understand.
      ws.on('message', () => {
        log('closed an events socket: the client sent a message (the socket only carries events to the page)')
        ws.close(1008, 'this socket only sends events; messages are not accepted')
      })
    })
  })
  const unsubscribe = runtime.events.subscribe((event, payload) => {
    const text = JSON.stringify({ event, payload } satisfies EventMessage)
    for (const ws of sockets) if (ws.readyState === ws.OPEN) ws.send(text)
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? 0, bindHost, () => {
      server.off('error', reject)
      resolve()
    })
  })
  port = (server.address() as AddressInfo).port
  const shownHost = bindHost.includes(':') ? `[${bindHost}]` : bindHost === '0.0.0.0' ? '127.0.0.1' : bindHost
  const url = `http://${shownHost}:${port}`
  return {
    url,
    openUrl: `${url}/?${TOKEN_QUERY}=${token}`,
    port,
    token,
    warning: bind.warning,
    async close() {
      unsubscribe()
      try {
        await runtime.dispose()
      } finally {
        for (const ws of sockets) ws.terminate()
        wss.close()
        server.closeAllConnections()
        await new Promise<void>((r) => server.close(() => r()))
      }
    },
  }
}

/** Exit status of a host that stopped on an uncaught error (EX_SOFTWARE). */
export const EXIT_HOST_CRASHED = 70

/**
 * Last line of defence of a host process: an error nothing caught (a bug, a library's unhandled
 * 'error' event) still saves the pending edits and releases the case locks before the process
 * ends, then exits non-zero with a message saying so. Returns the uninstaller (tests).
 */
export function installCrashGuard(host: Pick<WebHost, 'close'>, opts: { log?: (line: string) => void; exit?: (code: number) => void; timeoutMs?: number } = {}): () => void {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`))
  const exit = opts.exit ?? ((code: number) => process.exit(code))
  let dying = false
  const die = (kind: string, e: unknown) => {
    if (dying) return log(`scn-studio serve: another ${kind} while shutting down: ${(e as Error)?.stack ?? String(e)}`)
    dying = true
    log(`scn-studio serve: ${kind}: ${(e as Error)?.stack ?? String(e)}`)
    log('scn-studio serve: saving pending edits and releasing case locks, then stopping')
    // a save that hangs must not keep a broken host alive for ever
    const deadline = setTimeout(() => {
      log('scn-studio serve: saving took too long; stopping without it')
      exit(EXIT_HOST_CRASHED)
    }, opts.timeoutMs ?? 20_000)
    deadline.unref()
    host.close().then(
      () => {
        log('scn-studio serve: pending edits saved; stopped after the error above')
        exit(EXIT_HOST_CRASHED)
      },
      (err) => {
        log(`scn-studio serve: could not save every pending edit: ${(err as Error)?.message ?? String(err)}`)
        exit(EXIT_HOST_CRASHED)
      },
    )
  }
  const onException = (e: unknown) => die('uncaught error', e)
  const onRejection = (e: unknown) => die('unhandled promise rejection', e)
  process.on('uncaughtException', onException)
  process.on('unhandledRejection', onRejection)
  return () => {
    process.off('uncaughtException', onException)
    process.off('unhandledRejection', onRejection)
  }
}
