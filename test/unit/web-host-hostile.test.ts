/**
 * A hostile local client that knows the token (issue 18.1, 18.7, 11.4): WebSocket frames written by
 * hand over a raw TCP socket (oversized, unmasked, reserved opcode, a message on a one-way socket),
 * bodies far past what a call needs, and a burst of malformed requests. The host must close the
 * offending socket with a reason, log it, answer 413 without buffering, and keep serving the page
 * and the API. Real server, real sockets; the server runs in this process, so a crash fails the run.
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { request } from 'node:http'
import { connect, type Socket } from 'node:net'
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { createHttpTransport, createScnClient, encodeFrame } from '../../src-shared/contract/index.js'
import { EXIT_HOST_CRASHED } from '../../src-main/hosts/web/server.js'
import { readNifti } from '../../src-main/volumes/nifti.js'
import { startTestHost, type TestHost } from '../helpers/web-host.js'

let t: TestHost
const logged: string[] = []

/** A WebSocket frame as a client writes it (masked unless told otherwise). */
function wsFrame(opcode: number, payload: Buffer, opts: { mask?: boolean } = {}): Buffer {
  const mask = opts.mask ?? true
  const len = payload.length
  const head: number[] = [0x80 | opcode]
  const m = mask ? 0x80 : 0
  if (len < 126) head.push(m | len)
  else if (len < 65536) head.push(m | 126, len >> 8, len & 255)
  else {
    head.push(m | 127, 0, 0, 0, 0)
    head.push((len >>> 24) & 255, (len >>> 16) & 255, (len >>> 8) & 255, len & 255)
  }
  if (!mask) return Buffer.concat([Buffer.from(head), payload])
  const key = randomBytes(4)
  const body = Buffer.from(payload)
  for (let i = 0; i < body.length; i++) body[i] ^= key[i & 3]
  return Buffer.concat([Buffer.from(head), key, body])
}

/** Opens /api/events by a hand-written handshake; resolves with the socket once the server said 101. */
function rawEventsSocket(headers: Record<string, string> = {}): Promise<{ sock: Socket; received: () => Buffer; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const sock = connect(t.host.port, '127.0.0.1')
    let buf = Buffer.alloc(0)
    let upgraded = false
    const closed = new Promise<void>((r) => sock.on('close', () => r()))
    sock.on('error', () => {}) // the server may cut us off: that is what some tests wait for
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d])
      if (upgraded) return
      const end = buf.indexOf('\r\n\r\n')
      if (end < 0) return
      const status = buf.subarray(0, end).toString('latin1').split('\r\n')[0]
      if (!status.startsWith('HTTP/1.1 101')) return reject(new Error(`handshake refused: ${status}`))
      upgraded = true
      buf = buf.subarray(end + 4)
      resolve({ sock, received: () => buf, closed })
    })
    const lines = [
      'GET /api/events HTTP/1.1',
      `Host: 127.0.0.1:${t.host.port}`,
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
      'Sec-WebSocket-Version: 13',
      `Origin: ${t.host.url}`,
      ...Object.entries({ 'x-scn-token': t.host.token, ...headers })
        .filter(([, v]) => v)
        .map(([k, v]) => `${k}: ${v}`),
    ]
    sock.write(lines.join('\r\n') + '\r\n\r\n')
  })
}

/** The server's close frame (unmasked, short payload): status code and reason. */
async function closeFrameOf(conn: { received: () => Buffer; closed: Promise<void> }): Promise<{ code: number; reason: string }> {
  const deadline = Date.now() + 10_000
  for (;;) {
    const b = conn.received()
    for (let i = 0; i + 1 < b.length; ) {
      const opcode = b[i] & 0x0f
      let len = b[i + 1] & 0x7f
      let off = i + 2
      if (len === 126) (len = b.readUInt16BE(off)), (off += 2)
      if (opcode === 0x8 && off + len <= b.length) {
        return { code: len >= 2 ? b.readUInt16BE(off) : 1005, reason: b.subarray(off + 2, off + len).toString('utf8') }
      }
      i = off + len
    }
    if (Date.now() > deadline) throw new Error(`no close frame from the server (got ${b.length} bytes)`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

async function stillServing(): Promise<void> {
  const info = await fetch(`${t.host.url}/api/call/app.info`, { method: 'POST', headers: { 'x-scn-token': t.host.token, 'content-type': 'application/json' }, body: '{}' })
  expect(info.status).toBe(200)
  expect((await info.json()).host).toBe('web')
  const page = await fetch(t.host.openUrl)
  expect(page.status).toBe(200)
  expect(await page.text()).toContain('scn-token')
}

/** Streams `total` bytes (one reused buffer, chunked) and records the answer and the server's peak RSS growth. */
function streamBody(path: string, total: number, headers: Record<string, string>): Promise<{ status: number; body: string; sent: number; peakRssGrowth: number }> {
  return new Promise((resolve, reject) => {
    const chunk = Buffer.alloc(1 << 20, 0x41)
    const base = process.memoryUsage().rss
    let peak = 0
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss - base)), 10)
    let sent = 0
    let answered: { status: number; body: string } | undefined
    const req = request({ host: '127.0.0.1', port: t.host.port, path, method: 'POST', headers: { 'x-scn-token': t.host.token, ...headers } }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c) => (body += c))
      res.on('end', () => {
        answered = { status: res.statusCode ?? 0, body }
        finish()
      })
    })
    const finish = () => {
      clearInterval(sampler)
      peak = Math.max(peak, process.memoryUsage().rss - base)
      if (answered) resolve({ ...answered, sent, peakRssGrowth: peak })
      else reject(new Error(`no answer after ${sent} bytes`))
      req.destroy()
    }
    req.on('error', () => {
      if (!answered) setTimeout(finish, 200) // an answer may still be in flight
    })
    const pump = () => {
      while (sent < total && !answered && !req.destroyed) {
        sent += chunk.length
        if (!req.write(chunk)) return void req.once('drain', pump)
      }
      if (sent >= total && !answered) req.end()
    }
    pump()
  })
}

beforeAll(async () => {
  const rendererDir = mkdtempSync(join(tmpdir(), 'scn-renderer-'))
  writeFileSync(join(rendererDir, 'index.html'), '<!doctype html><html><head><title>x</title></head><body>app</body></html>')
  t = await startTestHost({}, { rendererDir, log: (line) => logged.push(line) })
})
afterAll(async () => t?.close())

describe('events WebSocket: a client message never kills the host', () => {
  it('a 70,000-byte frame: closed with 1009 (too big), logged; the host keeps serving', async () => {
    const conn = await rawEventsSocket()
    conn.sock.write(wsFrame(0x1, Buffer.alloc(70_000, 0x61)))
    expect((await closeFrameOf(conn)).code).toBe(1009)
    conn.sock.destroy()
    expect(logged.join('\n')).toMatch(/closed an events socket: .*Max payload size exceeded/)
    await stillServing()
  })

  it('an unmasked frame: closed with 1002 (protocol error), logged', async () => {
    const before = logged.length
    const conn = await rawEventsSocket()
    conn.sock.write(wsFrame(0x1, Buffer.from('{"hello":1}'), { mask: false }))
    expect((await closeFrameOf(conn)).code).toBe(1002)
    conn.sock.destroy()
    expect(logged.slice(before).join('\n')).toMatch(/closed an events socket: .*MASK/)
    await stillServing()
  })

  it('reserved opcode 3: closed with 1002, logged', async () => {
    const before = logged.length
    const conn = await rawEventsSocket()
    conn.sock.write(wsFrame(0x3, Buffer.from('x')))
    expect((await closeFrameOf(conn)).code).toBe(1002)
    conn.sock.destroy()
    expect(logged.slice(before).join('\n')).toMatch(/closed an events socket: .*opcode 3/)
    await stillServing()
  })

  it('a well-formed message on the one-way socket: closed with 1008 and a reason in words', async () => {
    const conn = await rawEventsSocket()
    conn.sock.write(wsFrame(0x1, Buffer.from('{"event":"x"}')))
    const close = await closeFrameOf(conn)
    expect(close.code).toBe(1008)
    expect(close.reason).toMatch(/only sends events/)
    conn.sock.destroy()
    await stillServing()
  })

  it('a socket reset in the middle of a frame or of the handshake does not matter', async () => {
    const conn = await rawEventsSocket()
    conn.sock.write(wsFrame(0x1, Buffer.alloc(3000, 0x62)).subarray(0, 100))
    conn.sock.resetAndDestroy()
    const half = connect(t.host.port, '127.0.0.1')
    half.on('error', () => {})
    half.write(`GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:${t.host.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n`)
    await new Promise((r) => setTimeout(r, 50))
    half.resetAndDestroy()
    await new Promise((r) => setTimeout(r, 100))
    await stillServing()
  })

  it('a page that goes away while events are being sent: nothing logged as a fault', async () => {
    const before = logged.length
    for (let n = 0; n < 5; n++) {
      const conn = await rawEventsSocket()
      // the host is writing events when the page's socket is reset under it
      const burst = setInterval(() => t.runtime.events.emit('app.onOpenRequest', { path: '/x'.repeat(200) }), 0)
      await new Promise((r) => setTimeout(r, 20))
      conn.sock.resetAndDestroy()
      await new Promise((r) => setTimeout(r, 30))
      clearInterval(burst)
    }
    await stillServing()
    expect(logged.slice(before).filter((l) => /events socket error/.test(l))).toEqual([])
  })
})

describe('request bodies are capped by what the call needs', () => {
  it('a JSON method refuses a declared 1.5 GB body at once with 413, reading none of it', async () => {
    const r = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: t.host.port, path: '/api/call/app.info', method: 'POST', headers: { 'x-scn-token': t.host.token, 'content-type': 'application/json', 'content-length': String(1.5e9) } },
        (res) => {
          let body = ''
          res.on('data', (c) => (body += c))
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
        },
      )
      req.on('error', reject)
      req.write('{"a":') // and then nothing: the answer must not wait for the rest
    })
    expect(r.status).toBe(413)
    expect(JSON.parse(r.body).message).toMatch(/app\.info: the request body is 1500000000 bytes, more than the 1048576 bytes this call takes/)
  })

  it('300 MB of bytes streamed to a JSON method: 413 early, the server never buffers it', async () => {
    const r = await streamBody('/api/call/app.info', 300 << 20, { 'content-type': 'application/octet-stream' })
    expect(r.status).toBe(413)
    expect(JSON.parse(r.body).message).toMatch(/app\.info: the request body is more than 1048576 bytes/)
    expect(r.sent, 'the server stopped reading long before the end').toBeLessThan(200 << 20)
    expect(r.peakRssGrowth, `peak RSS growth ${(r.peakRssGrowth / 2 ** 20).toFixed(0)} MB`).toBeLessThan(120 << 20)
    await stillServing()
  }, 60_000)

  it('labels.put takes exactly the open volume\'s labelmap: one byte more is 413, a stream of 300 MB is cut early', async () => {
    const opened = await t.client.volumes.open({ path: t.phantomPath })
    if (opened.status !== 'opened') throw new Error('phantom did not open')
    const v = opened.volume
    const n = v.geometry.dims[0] * v.geometry.dims[1] * v.geometry.dims[2]
    const header = { volumeId: v.volumeId, kind: 'current', dataType: 'uint8', geometry: v.geometry, version: 0 }
    const put = (body: Uint8Array) =>
      fetch(`${t.host.url}/api/call/labels.put`, { method: 'POST', headers: { 'x-scn-token': t.host.token, 'content-type': 'application/octet-stream' }, body: body as Uint8Array<ArrayBuffer> })
    const exact = encodeFrame(header, new Uint8Array(n).fill(1))
    const over = new Uint8Array(exact.length + 1)
    over.set(exact)
    const big = await put(over)
    expect(big.status).toBe(413)
    expect((await big.json()).message).toMatch(new RegExp(`labels\\.put: the request body is ${over.length} bytes, more than the ${exact.length} bytes this call takes`))
    const ok = await put(exact)
    expect(ok.status).toBe(200)
    expect((await ok.json()).version).toBe(1)
    // the frame's header first, then far more voxels than the volume has: cut off at the volume's size
    const head = encodeFrame({ ...header, version: 1 }, new Uint8Array(0))
    const r = await new Promise<{ status: number; body: string; sent: number }>((resolve, reject) => {
      let sent = 0
      let done = false
      const req = request({ host: '127.0.0.1', port: t.host.port, path: '/api/call/labels.put', method: 'POST', headers: { 'x-scn-token': t.host.token, 'content-type': 'application/octet-stream' } }, (res) => {
        let body = ''
        res.on('data', (c) => (body += c))
        res.on('end', () => ((done = true), resolve({ status: res.statusCode ?? 0, body, sent })))
      })
      req.on('error', (e) => setTimeout(() => done || reject(e), 200))
      req.write(head)
      const chunk = Buffer.alloc(1 << 20)
      const pump = () => {
        while (!done && !req.destroyed && sent < 300 << 20) {
          sent += chunk.length
          if (!req.write(chunk)) return void req.once('drain', pump)
        }
      }
      pump()
    })
    expect(r.status).toBe(413)
    expect(r.sent).toBeLessThan(200 << 20)
    await stillServing()
    await t.client.volumes.close({ volumeId: v.volumeId })
  }, 60_000)
})

describe('a scripted burst of malformed frames and requests', () => {
  it('leaves the host serving the page and the API', async () => {
    const garbage: string[] = [
      'NOT HTTP AT ALL\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n',
      `POST /api/call/app.info HTTP/1.1\r\nHost: 127.0.0.1:${t.host.port}\r\nx-scn-token: ${t.host.token}\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\nhello\r\n`,
      `POST /api/call/app.info HTTP/1.1\r\nHost: 127.0.0.1:${t.host.port}\r\nx-scn-token: ${t.host.token}\r\nContent-Length: 10\r\nContent-Length: 20\r\n\r\n0123456789`,
      `POST /api/call/app.info HTTP/1.1\r\nHost: 127.0.0.1:${t.host.port}\r\nx-scn-token: ${t.host.token}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"trunc`,
      `POST /api/call/labels.put HTTP/1.1\r\nHost: 127.0.0.1:${t.host.port}\r\nx-scn-token: ${t.host.token}\r\nContent-Type: application/octet-stream\r\nContent-Length: 12\r\n\r\nSCNF\xff\xff\xff\xff1234`,
      `POST /api/call/labels.put HTTP/1.1\r\nHost: 127.0.0.1:${t.host.port}\r\nx-scn-token: ${t.host.token}\r\nContent-Type: application/octet-stream\r\nContent-Length: 9\r\n\r\nSCNF\x05\x00\x00\x00{`,
      `GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:${t.host.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nx-scn-token: ${t.host.token}\r\n\r\n`,
      `GET /%00%ff%fe HTTP/1.1\r\nHost: 127.0.0.1:${t.host.port}\r\n\r\n`,
      `${'A'.repeat(100_000)}\r\n\r\n`,
    ]
    const raws = garbage.map(
      (text) =>
        new Promise<void>((resolve) => {
          const s = connect(t.host.port, '127.0.0.1')
          s.on('error', () => resolve())
          s.on('close', () => resolve())
          s.on('data', () => {})
          s.write(Buffer.from(text, 'latin1'))
          setTimeout(() => s.destroy(), 300)
        }),
    )
    const frames = [
      wsFrame(0x1, Buffer.alloc(70_000)),
      wsFrame(0x2, Buffer.from([1, 2, 3]), { mask: false }),
      wsFrame(0x3, Buffer.alloc(4)),
      wsFrame(0xb, Buffer.alloc(4)),
      wsFrame(0x9, Buffer.alloc(200)), // a ping longer than 125 bytes
      wsFrame(0x0, Buffer.from('continuation of nothing')),
      wsFrame(0x1, Buffer.from([0xff, 0xfe, 0xfd])), // not UTF-8
      Buffer.from([0xff, 0xff, 0xff, 0xff]),
      randomBytes(5000),
    ]
    const sockets = frames.map(async (f) => {
      const conn = await rawEventsSocket()
      conn.sock.write(f)
      await Promise.race([conn.closed, new Promise((r) => setTimeout(r, 1000))])
      conn.sock.destroy()
    })
    await Promise.all([...raws, ...sockets])
    await stillServing()
    // and the events socket still works for a well-behaved client
    const got = new Promise<unknown>((resolve) => t.client.app.onOpenRequest(resolve))
    await t.eventsReady()
    t.runtime.events.emit('app.onOpenRequest', { path: '/x/after-the-burst.nii.gz' })
    expect(await got).toEqual({ path: '/x/after-the-burst.nii.gz' })
  }, 60_000)
})

describe('the token travels in a header or cookie, never in an API URL', () => {
  it('API calls and the events socket with ?token= and no header or cookie: 401', async () => {
    const api = await fetch(`${t.host.url}/api/call/app.info?token=${t.host.token}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
    expect(api.status).toBe(401)
    expect((await api.json()).message).toMatch(/x-scn-token header/)
    const ws = await new Promise<string>((resolve) => {
      const s = connect(t.host.port, '127.0.0.1')
      let text = ''
      s.on('data', (d) => (text += d.toString('latin1')))
      s.on('close', () => resolve(text))
      s.write(
        `GET /api/events?token=${t.host.token} HTTP/1.1\r\nHost: 127.0.0.1:${t.host.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\nOrigin: ${t.host.url}\r\n\r\n`,
      )
    })
    expect(ws).toMatch(/^HTTP\/1\.1 401/)
  })

  it('the page takes ?token= and sets the cookie; the events socket then opens with the cookie alone', async () => {
    const page = await fetch(t.host.openUrl)
    expect(page.status).toBe(200)
    const cookie = page.headers.get('set-cookie')!.split(';')[0]
    // assets need the cookie, not ?token= (only the page navigation takes the query)
    expect((await fetch(`${t.host.url}/index.html?token=${t.host.token}`)).status).toBe(200)
    const conn = await rawEventsSocket({ cookie, 'x-scn-token': '' })
    conn.sock.destroy()
  })
})

describe('an uncaught error in a host', () => {
  const CHILD = new URL('../fixtures/web-host-crash-child.ts', import.meta.url).pathname

  it.each([
    ['SIGUSR2', 'uncaught error', /a bug nobody caught/],
    ['SIGUSR1', 'unhandled promise rejection', /a rejected promise nobody awaited/],
  ] as const)('%s (%s): pending edits are saved and the case lock released before a non-zero exit', async (signal, kind, cause) => {
    const workspace = join(t.dir, `ws-crash-${signal}`)
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, t.phantomPath, workspace], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (d) => (stderr += d))
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)))
    const [url, token] = await new Promise<[string, string]>((resolve, reject) => {
      let out = ''
      child.stdout.on('data', (d) => {
        out += d
        const m = /READY (\S+) (\S+)/.exec(out)
        if (m) resolve([m[1], m[2]])
      })
      child.on('exit', (code) => reject(new Error(`child exited ${code} before it was ready: ${stderr}`)))
    })
    const client = createScnClient(createHttpTransport({ baseUrl: url, token, WebSocket: WebSocket as never }))
    const opened = await client.volumes.open({ path: t.phantomPath })
    if (opened.status !== 'opened') throw new Error('phantom did not open')
    const v = opened.volume
    const c = await client.cases.create({ volumeId: v.volumeId, name: `crash ${signal}` })
    const n = v.geometry.dims[0] * v.geometry.dims[1] * v.geometry.dims[2]
    const current = await client.labels.get({ volumeId: v.volumeId, kind: 'current' })
    const edited = new Uint8Array(n)
    edited.fill(3, 0, 5000) // an edit the host holds in its autosave, not yet on disk
    await client.labels.put({ header: { ...current.header, version: current.header.version }, data: edited })
    const caseDir = join(workspace, 'cases', c.caseId)
    expect(existsSync(join(caseDir, '.lock'))).toBe(true)
    child.kill(signal)
    expect(await exited).toBe(EXIT_HOST_CRASHED)
    expect(stderr).toContain(`scn-studio serve: ${kind}`)
    expect(stderr).toMatch(cause)
    expect(stderr).toMatch(/pending edits saved/)
    expect(existsSync(join(caseDir, '.lock')), 'the case lock is released').toBe(false)
    const saved = readNifti(join(caseDir, 'labels.nii.gz'))
    expect(Buffer.compare(Buffer.from(saved.data as Uint8Array), Buffer.from(edited))).toBe(0)
  }, 60_000)
})
