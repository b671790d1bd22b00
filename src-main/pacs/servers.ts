/**
 * Configured DICOMweb servers: name, base URL and optional basic or bearer credentials, kept in
 * <SCN Studio home>/pacs-servers.json with mode 0600. In the desktop app the secrets in that file are
 * sealed with the OS keychain (Electron safeStorage, installed by the Electron host through
 * useSecretSealer): the file then holds only ciphertext, and the CLI or web host reading it is told
 * to enter the credentials again. Nothing here logs or returns a secret except to the HTTP layer:
 * describe a server with serverLabel() / publicServer().
 */
import { chmodSync, existsSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { z } from 'zod'
import { userDataDir } from '../util/app-paths.js'
import { writeFileAtomic } from '../util/atomic-write.js'
import { PacsError } from './errors.js'

const authSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('basic'), username: z.string(), password: z.string() }),
  z.object({ type: z.literal('bearer'), token: z.string().min(1) }),
])
/** on disk, a secret is either plain (0600 file) or sealed by the sealer named in `sealed` */
const storedAuthSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('basic'), username: z.string(), password: z.string(), sealed: z.string().optional() }),
  z.object({ type: z.literal('bearer'), token: z.string().min(1), sealed: z.string().optional() }),
])
const serverSchema = z.object({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/),
  baseUrl: z.string().url(),
  auth: authSchema.optional(),
})
const fileSchema = z.object({ version: z.literal(1), servers: z.array(serverSchema.extend({ auth: storedAuthSchema.optional() })) })

/**
 * Seals and opens secrets with a key the OS keeps (Electron's safeStorage: Keychain, DPAPI,
 * libsecret). `name` is written beside each sealed secret so that a reader without it can say why
 * it cannot use the server.
 */
export interface SecretSealer {
  name: string
  seal(plain: string): string
  open(sealed: string): string
}
let sealer: SecretSealer | null = null
/** The Electron host installs safeStorage here at start-up when the OS offers encryption. */
export function useSecretSealer(s: SecretSealer | null): void {
  sealer = s
}

function secretOf(a: PacsAuth): string {
  return a.type === 'basic' ? a.password : a.token
}
function withSecret<T extends PacsAuth>(a: T, secret: string): T {
  return (a.type === 'basic' ? { ...a, password: secret } : { ...a, token: secret }) as T
}

function openStored(file: string, s: z.infer<typeof fileSchema>['servers'][number]): PacsServer {
  if (!s.auth) return { name: s.name, baseUrl: s.baseUrl }
  const { sealed, ...auth } = s.auth
  if (!sealed) return { name: s.name, baseUrl: s.baseUrl, auth }
  if (!sealer || sealer.name !== sealed) {
    throw new PacsError('config', file, undefined, `the credentials of server "${s.name}" are sealed by the desktop app's ${sealed} and cannot be read here; add the server again with \`scn-studio pacs server add\` to use it from this program`)
  }
  let secret: string
  try {
    secret = sealer.open(secretOf(auth))
  } catch (e) {
    throw new PacsError('config', file, undefined, `the credentials of server "${s.name}" cannot be unsealed (${(e as Error).message}); add the server again`)
  }
  return { name: s.name, baseUrl: s.baseUrl, auth: withSecret(auth, secret) }
}

export type PacsAuth = z.infer<typeof authSchema>
export interface PacsServer {
  /** configured name; absent for a server named only by its URL */
  name?: string
  /** DICOMweb root, without a trailing slash and without credentials */
  baseUrl: string
  auth?: PacsAuth
}

export function serversFile(): string {
  return join(userDataDir(), 'pacs-servers.json')
}

/** How a server is named in messages: its name and URL, never its credentials. */
export function serverLabel(s: PacsServer): string {
  return s.name ? `"${s.name}" (${s.baseUrl})` : s.baseUrl
}

/** A server as it may be shown or logged: the kind of credentials, not their value. */
export function publicServer(s: PacsServer): { name?: string; baseUrl: string; auth: 'none' | 'basic' | 'bearer'; username?: string } {
  return { name: s.name, baseUrl: s.baseUrl, auth: s.auth?.type ?? 'none', ...(s.auth?.type === 'basic' ? { username: s.auth.username } : {}) }
}

/**
 * A base URL as stored and compared: http(s) only, credentials moved out (returned apart), no query,
 * no trailing slash.
 */
export function normalizeBaseUrl(raw: string): { baseUrl: string; auth?: PacsAuth } {
  let u: URL
  try {
    u = new URL(raw)
  } catch {
    throw new PacsError('bad-url', raw.replace(/\/\/[^/@]*@/, '//'), undefined, 'not a URL: give the DICOMweb base URL, such as http://host:8042/dicom-web, or a configured server name')
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new PacsError('bad-url', `${u.protocol}//${u.host}${u.pathname}`, undefined, 'only http and https DICOMweb servers are supported')
  }
  const auth: PacsAuth | undefined = u.username ? { type: 'basic', username: decodeURIComponent(u.username), password: decodeURIComponent(u.password) } : undefined
  u.username = ''
  u.password = ''
  u.search = ''
  u.hash = ''
  return { baseUrl: u.toString().replace(/\/+$/, ''), auth }
}

export function loadServers(): PacsServer[] {
  const file = serversFile()
  if (!existsSync(file)) return []
  let parsed
  try {
    parsed = fileSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')))
  } catch (e) {
    throw new PacsError('config', file, undefined, `the servers file is not valid JSON (${(e as Error).message})`)
  }
  if (!parsed.success) throw new PacsError('config', file, undefined, `the servers file is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`)
  // the file holds secrets: keep it private even if something widened its mode
  if (process.platform !== 'win32' && (statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600)
  return parsed.data.servers.map((s) => openStored(file, s))
}

async function saveServers(servers: PacsServer[]): Promise<void> {
  const stored = servers.map((s) => (s.auth && sealer ? { ...s, auth: { ...withSecret(s.auth, sealer.seal(secretOf(s.auth))), sealed: sealer.name } } : s))
  await writeFileAtomic(serversFile(), JSON.stringify({ version: 1, servers: stored }, null, 2) + '\n', { mode: 0o600 })
}

/**
 * With a sealer installed: seals every secret still stored in plain text (a server added with the
 * CLI before the desktop app ran). Returns how many servers were sealed.
 */
export async function sealStoredSecrets(): Promise<number> {
  if (!sealer || !existsSync(serversFile())) return 0
  const raw = fileSchema.parse(JSON.parse(readFileSync(serversFile(), 'utf8')))
  const plain = raw.servers.filter((s) => s.auth && !s.auth.sealed).length
  if (plain > 0) await saveServers(loadServers())
  return plain
}

export async function addServer(s: PacsServer & { name: string }): Promise<PacsServer> {
  const { baseUrl, auth: urlAuth } = normalizeBaseUrl(s.baseUrl)
  const server = serverSchema.parse({ name: s.name, baseUrl, auth: s.auth ?? urlAuth })
  const others = loadServers().filter((x) => x.name !== server.name)
  await saveServers([...others, server])
  return server
}

export async function removeServer(name: string): Promise<boolean> {
  const all = loadServers()
  const rest = all.filter((x) => x.name !== name)
  if (rest.length === all.length) return false
  await saveServers(rest)
  return true
}

/**
 * A server by configured name or by base URL. A URL that matches a configured server's base URL
 * gets that server's name and credentials; credentials in the URL itself win.
 */
export function resolveServer(nameOrUrl: string, servers: PacsServer[] = loadServers()): PacsServer {
  if (!/^https?:\/\//i.test(nameOrUrl)) {
    const byName = servers.find((s) => s.name === nameOrUrl)
    if (byName) return byName
    const names = servers.map((s) => s.name).join(', ')
    throw new PacsError('bad-url', nameOrUrl, undefined, `no server of that name is configured${names ? ` (configured: ${names})` : ''}; add one with \`scn-studio pacs server add <name> <base-url>\` or give its URL`)
  }
  const { baseUrl, auth } = normalizeBaseUrl(nameOrUrl)
  const known = servers.find((s) => s.baseUrl === baseUrl)
  return { name: known?.name, baseUrl, auth: auth ?? known?.auth }
}
