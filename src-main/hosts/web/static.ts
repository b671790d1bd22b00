/** Serves the built renderer (dist/renderer) without ever leaving that folder. */
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs'
import { extname, join, normalize, resolve, sep } from 'node:path'
import { appRoot } from '../../util/app-paths.js'
import { gzipSync } from 'node:zlib'

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
  // never Content-Encoding: gzip for volumes (docs/runtime-notes.md: the NIfTI loader would unzip twice)
  '.gz': 'application/octet-stream',
}

export function defaultRendererDir(): string {
  return join(appRoot(), 'dist', 'renderer')
}

export interface StaticFile {
  body: Buffer
  type: string
}

/** The file under `root` for a URL path, or undefined (missing, a folder, or outside root). */
export function resolveStatic(root: string, urlPath: string): StaticFile | undefined {
  let decoded: string
  try {
    decoded = decodeURIComponent(urlPath)
  } catch {
    return undefined
  }
  if (decoded.includes('\0')) return undefined
  const rel = normalize(decoded === '/' ? '/index.html' : decoded).replace(/^([/\\])+/, '')
  const realRoot = existsSync(root) ? realpathSync(root) : root
  const file = resolve(realRoot, rel)
  if (file !== realRoot && !file.startsWith(realRoot + sep)) return undefined
  if (!existsSync(file)) return undefined
  const real = realpathSync(file)
  if (!real.startsWith(realRoot + sep) || !statSync(real).isFile()) return undefined
  return { body: readFileSync(real), type: TYPES[extname(real).toLowerCase()] ?? 'application/octet-stream' }
}

/** index.html with the token in a meta tag, so the page can call the API after dropping ?token from its URL. */
export function injectToken(html: string, token: string, metaName: string): string {
  const tag = `<meta name="${metaName}" content="${token}">`
  return html.includes('<head>') ? html.replace('<head>', `<head>\n    ${tag}`) : tag + html
}

/**
 * Text assets gzipped once and kept: the renderer's bundles are megabytes, and over an SSH tunnel
 * from a GPU box that matters. Only text types (never volumes: docs/runtime-notes.md, double unzip).
 */
const gzCache = new Map<string, { size: number; gz: Buffer }>()
export function gzipped(key: string, file: StaticFile): Buffer | undefined {
  if (!/^(text\/|application\/(json|javascript)|image\/svg)/.test(file.type) || file.body.length < 1024) return undefined
  const hit = gzCache.get(key)
  if (hit && hit.size === file.body.length) return hit.gz
  const gz = gzipSync(file.body, { level: 6 })
  gzCache.set(key, { size: file.body.length, gz })
  return gz
}

export function notBuiltPage(root: string): string {
  return `<!doctype html><meta charset="utf-8"><title>SCN Studio</title>
<p>The SCN Studio renderer is not built (no ${join(root, 'index.html')}).</p>
<p>Run <code>npm run build</code>, then start the web host again.</p>`
}
