/** The web host's gate: token, origin, Host header, bind address, static files. Real server, real sockets. */
import { request } from 'node:http'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { startWebHost } from '../../src-main/hosts/web/server.js'
import { checkBind, hostAllowed, originAllowed } from '../../src-main/hosts/web/security.js'
import { createServices } from '../../src-main/services/index.js'
import { startTestHost, type TestHost } from '../helpers/web-host.js'

/** Raw HTTP so we control every header (fetch forbids setting Origin/Host). */
function raw(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string; path?: string } = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const u = new URL(url)
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path: opts.path ?? u.pathname + u.search, method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c) => (body += c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
    })
    req.on('error', reject)
    req.end(opts.body)
  })
}

function wsOpen(url: string, headers: Record<string, string> = {}): Promise<{ ok: true; ws: WebSocket } | { ok: false; status: number }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers })
    ws.on('open', () => resolve({ ok: true, ws }))
    ws.on('unexpected-response', (_req, res) => resolve({ ok: false, status: res.statusCode ?? 0 }))
    ws.on('error', () => resolve({ ok: false, status: 0 }))
  })
}

describe('web host gate', () => {
  let t: TestHost
  beforeAll(async () => {
    // A stand-in renderer build: the gate is what is under test here, not the UI.
    const rendererDir = mkdtempSync(join(tmpdir(), 'scn-renderer-'))
    writeFileSync(join(rendererDir, 'index.html'), '<!doctype html><html><head><title>x</title></head><body>app</body></html>')
    writeFileSync(join(rendererDir, 'app.js'), 'console.log(1)\n'.repeat(200))
    writeFileSync(join(rendererDir, 'ct.nii.gz'), Buffer.alloc(4096, 7))
    t = await startTestHost({}, { rendererDir })
  })
  afterAll(async () => t.close())

  it('listens on 127.0.0.1 and prints a URL with a long random token', () => {
    expect(t.host.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(t.host.openUrl).toBe(`${t.host.url}/?token=${t.host.token}`)
    expect(t.host.token.length).toBeGreaterThanOrEqual(32)
  })

  it('refuses the page without the token (401) and serves it with the token', async () => {
    expect((await raw(`${t.host.url}/`)).status).toBe(401)
    expect((await raw(`${t.host.url}/?token=wrong`)).status).toBe(401)
    expect((await raw(`${t.host.url}/app.js`)).status).toBe(401)
    const ok = await raw(t.host.openUrl)
    expect(ok.status).toBe(200)
    expect(ok.body).toContain(`<meta name="scn-token" content="${t.host.token}">`)
    expect(String(ok.headers['content-security-policy'])).toContain("default-src 'self'")
    expect(ok.headers['referrer-policy']).toBe('no-referrer')
    const cookie = String(ok.headers['set-cookie'])
    expect(cookie).toMatch(/HttpOnly/)
    expect(cookie).toMatch(/SameSite=Strict/)
    // assets load with the cookie the page set
    const asset = await raw(`${t.host.url}/app.js`, { headers: { cookie: cookie.split(';')[0] } })
    expect(asset.status).toBe(200)
    expect(asset.headers['content-type']).toMatch(/javascript/)
    // text assets go gzipped to browsers that ask; volumes never (the NIfTI loader would unzip twice)
    const gz = await raw(`${t.host.url}/app.js`, { headers: { cookie: cookie.split(';')[0], 'accept-encoding': 'gzip, br' } })
    expect(gz.headers['content-encoding']).toBe('gzip')
    expect(Number(gz.headers['content-length'])).toBeLessThan(200 * 15)
    const vol = await raw(`${t.host.url}/ct.nii.gz`, { headers: { cookie: cookie.split(';')[0], 'accept-encoding': 'gzip' } })
    expect(vol.status).toBe(200)
    expect(vol.headers['content-encoding']).toBeUndefined()
  })

  it('refuses API calls without the token header, even with the cookie (no CSRF)', async () => {
    const page = await raw(t.host.openUrl)
    const cookie = String(page.headers['set-cookie']).split(';')[0]
    const r = await raw(`${t.host.url}/api/call/app.info`, { method: 'POST', headers: { cookie, 'content-type': 'application/json' }, body: '{}' })
    expect(r.status).toBe(401)
    expect(JSON.parse(r.body).code).toBe('unauthorized')
    const ok = await raw(`${t.host.url}/api/call/app.info`, { method: 'POST', headers: { 'x-scn-token': t.host.token, 'content-type': 'application/json' }, body: '{}' })
    expect(ok.status).toBe(200)
    expect(JSON.parse(ok.body).host).toBe('web')
  })

  it('refuses requests from other origins, cross-site fetches and foreign Host names', async () => {
    const auth = { 'x-scn-token': t.host.token, 'content-type': 'application/json' }
    const call = (h: Record<string, string>) => raw(`${t.host.url}/api/call/app.info`, { method: 'POST', headers: { ...auth, ...h }, body: '{}' })
    const evil = await call({ origin: 'http://evil.example' })
    expect(evil.status).toBe(403)
    expect(JSON.parse(evil.body).message).toMatch(/other origins/)
    // another local web app on a different port is another origin too
    expect((await call({ origin: `http://127.0.0.1:${t.host.port + 1}` })).status).toBe(403)
    expect((await call({ 'sec-fetch-site': 'same-site' })).status).toBe(403)
    expect((await call({ host: `evil.example:${t.host.port}` })).status).toBe(403)
    expect((await call({ origin: t.host.url })).status).toBe(200)
    // following the printed link from another site is fine for the page, never for the API
    const nav = { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate' }
    expect((await raw(t.host.openUrl, { headers: nav })).status).toBe(200)
    expect((await raw(`${t.host.url}/api/call/app.info?token=${t.host.token}`, { headers: nav })).status).toBe(403)
    expect((await call({ host: `localhost:${t.host.port}`, origin: `http://localhost:${t.host.port}` })).status).toBe(200)
  })

  it('never serves files outside the renderer folder', async () => {
    // the query token is taken on the page load only; assets (and these probes) carry the cookie
    const cookie = String((await raw(t.host.openUrl)).headers['set-cookie']).split(';')[0]
    for (const path of ['/../../../../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd', '/..%2f..%2fpackage.json']) {
      const r = await raw(t.host.url, { path, headers: { cookie } })
      expect(r.status, path).toBe(404)
      expect((await raw(t.host.url, { path: `${path}?token=${t.host.token}` })).status, path).toBe(401)
    }
  })

  it('opens the events WebSocket only with the token (header or cookie, never the URL) and our origin', async () => {
    const base = t.host.url.replace('http', 'ws') + '/api/events'
    const none = await wsOpen(base, { origin: t.host.url })
    expect(none).toEqual({ ok: false, status: 401 })
    expect(await wsOpen(`${base}?token=${t.host.token}`, { origin: t.host.url })).toEqual({ ok: false, status: 401 })
    const foreign = await wsOpen(base, { origin: 'http://evil.example', 'x-scn-token': t.host.token })
    expect(foreign).toEqual({ ok: false, status: 403 })
    const good = await wsOpen(base, { origin: t.host.url, 'x-scn-token': t.host.token })
    expect(good.ok).toBe(true)
    if (good.ok) {
      const got = new Promise<string>((r) => good.ws.once('message', (d) => r(String(d))))
      t.runtime.events.emit('app.onOpenRequest', { path: '/x/ct.nii.gz' })
      expect(JSON.parse(await got)).toEqual({ event: 'app.onOpenRequest', payload: { path: '/x/ct.nii.gz' } })
      good.ws.close()
    }
  })
})

describe('bind address', () => {
  it('refuses a non-loopback --host without --allow-remote, and warns with it', async () => {
    const r = checkBind('0.0.0.0', false)
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.error).toMatch(/--allow-remote/)
    const w = checkBind('0.0.0.0', true)
    expect(w.ok && w.warning).toMatch(/WARNING/)
    expect(checkBind('127.0.0.1', false)).toEqual({ ok: true })
    const runtime = createServices({ host: 'web' })
    await expect(startWebHost({ runtime, host: '0.0.0.0' })).rejects.toThrow(/refusing to listen on 0\.0\.0\.0/)
  })
  it('checks Host and Origin headers exactly', () => {
    expect(hostAllowed('127.0.0.1:8080', 8080, false)).toBe(true)
    expect(hostAllowed('[::1]:8080', 8080, false)).toBe(true)
    expect(hostAllowed('127.0.0.1:8081', 8080, false)).toBe(false)
    expect(hostAllowed('attacker.test:8080', 8080, false)).toBe(false)
    expect(hostAllowed(undefined, 8080, false)).toBe(false)
    expect(originAllowed('http://127.0.0.1:8080', '127.0.0.1:8080')).toBe(true)
    expect(originAllowed('null', '127.0.0.1:8080')).toBe(false)
    expect(originAllowed(undefined, '127.0.0.1:8080', 'cross-site')).toBe(false)
  })
})
