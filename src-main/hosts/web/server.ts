/**
 * The web host: the built renderer and the contract over HTTP + WebSocket, on 127.0.0.1 by
 * default, guarded by a per-launch token. A thin wire over the service layer: every call goes
 * through the same `dispatch` as the Electron host.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { WebSocketServer, type WebSocket } from 'ws'
import { ContractError, HTTP_STATUS } from '../../contract/errors.js'
import { dispatch, toErrorPayload } from '../../contract/validate.js'
import { BINARY_TYPE, CALL_PATH, EVENTS_PATH, JSON_TYPE, TOKEN_HEADER, TOKEN_META, TOKEN_QUERY, type EventMessage } from '../../contract/wire.js'
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
  /** largest request body, bytes (labelmaps of big CTs are hundreds of MB) */
  maxBodyBytes?: number
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

const MAX_JSON = 1 << 20

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value)
  res.writeHead(status, { 'content-type': `${JSON_TYPE}; charset=utf-8`, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' })
  res.end(body)
}

function sendError(res: ServerResponse, e: unknown): void {
  const p = toErrorPayload(e)
  sendJson(res, HTTP_STATUS[p.code], p)
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'])
  if (Number.isFinite(declared) && declared > limit) throw new ContractError('bad-request', `the request body is ${declared} bytes, more than the limit of ${limit}`)
  const chunks: Buffer[] = []
  let size = 0
  for await (const c of req) {
    size += (c as Buffer).length
    if (size > limit) throw new ContractError('bad-request', `the request body is larger than the limit of ${limit} bytes`)
    chunks.push(c as Buffer)
  }
  return Buffer.concat(chunks, size)
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

  function authorised(req: IncomingMessage, url: URL, allowCookie: boolean): boolean {
    const header = req.headers[TOKEN_HEADER]
    if (tokensEqual(Array.isArray(header) ? header[0] : header, token)) return true
    if (tokensEqual(url.searchParams.get(TOKEN_QUERY), token)) return true
    return allowCookie && tokensEqual(readCookie(req.headers.cookie, cookieName(port)), token)
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
    // API calls must carry the token in the header (or query): a cookie alone would allow CSRF.
    if (!authorised(req, url, !isApi)) {
      return sendJson(res, 401, { code: 'unauthorized', message: 'missing or wrong token: open the exact URL the server printed (it ends in ?token=...)' })
    }
    if (url.pathname.startsWith(CALL_PATH)) {
      if (req.method !== 'POST') return sendJson(res, 405, { code: 'bad-request', message: 'contract calls use POST' })
      const channel = url.pathname.slice(CALL_PATH.length)
      try {
        const type = String(req.headers['content-type'] ?? '')
        let payload: unknown
        if (type.startsWith(BINARY_TYPE)) {
          const body = await readBody(req, maxBody)
          payload = new Uint8Array(body.buffer, body.byteOffset, body.byteLength)
        } else if (type.startsWith(JSON_TYPE) || type === '') {
          const body = await readBody(req, MAX_JSON)
          try {
            payload = body.length ? JSON.parse(body.toString('utf8')) : {}
          } catch (e) {
            throw new ContractError('bad-request', `${channel}: the request body is not valid JSON (${(e as Error).message})`)
          }
        } else throw new ContractError('bad-request', `${channel}: unsupported Content-Type '${type}' (use ${JSON_TYPE} or ${BINARY_TYPE})`)
        const r = await dispatch(runtime.impl, channel, payload)
        if (r.kind === 'json') return sendJson(res, 200, r.value)
        // two writes: the voxels go out from the service's own array, never copied into a frame
        const [prefix, voxels] = r.parts
        res.writeHead(200, { 'content-type': BINARY_TYPE, 'content-length': prefix.byteLength + voxels.byteLength, 'cache-control': 'no-store' })
        res.write(prefix)
        res.end(voxels)
      } catch (e) {
        if (!res.headersSent) sendError(res, e)
        else res.destroy()
      }
      return
    }
    if (isApi) return sendJson(res, 404, { code: 'not-found', message: `no such endpoint ${url.pathname}` })
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { code: 'bad-request', message: 'only GET here' })
    // First authenticated page load: remember the token in a cookie so scripts, workers and wasm load.
    const headers: Record<string, string> = { ...securityHeaders }
    if (tokensEqual(url.searchParams.get(TOKEN_QUERY), token)) {
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

  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 })
  const sockets = new Set<WebSocket>()
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://x')
    const refuse = (status: number, text: string) => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
    }
    if (url.pathname !== EVENTS_PATH) return refuse(404, 'Not Found')
    // WebSocket handshakes always carry Origin in browsers; gate() refuses foreign ones.
    if (gate(req)) return refuse(403, 'Forbidden')
    if (!authorised(req, url, false)) return refuse(401, 'Unauthorized')
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws)
      ws.on('close', () => sockets.delete(ws))
      // The events socket is one-way; anything the page sends is ignored.
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
      await runtime.dispose()
      for (const ws of sockets) ws.terminate()
      wss.close()
      server.closeAllConnections()
      await new Promise<void>((r) => server.close(() => r()))
    },
  }
}
