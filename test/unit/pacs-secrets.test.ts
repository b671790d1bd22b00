/**
 * Issue 16: in the desktop app, PACS credentials are sealed by the OS keychain (Electron's
 * safeStorage, installed by src-main/hosts/electron/main.ts). Electron cannot run on these
 * machines, so an AES-256-GCM sealer with a key that lives only in this process stands in for
 * safeStorage here; what is checked is ours: the file never holds the secret once a sealer is
 * installed, secrets stored in plain text by the CLI get sealed, and a program without the sealer
 * (the CLI, the web host) is told in words why it cannot use the server.
 */
import { describe, expect, it, beforeEach, afterEach } from 'vitest'
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { addServer, loadServers, sealStoredSecrets, serversFile, useSecretSealer, type SecretSealer } from '../../src-main/pacs/servers.js'
import { setEnv } from '../helpers/env.js'

function processKeySealer(name = 'safeStorage'): SecretSealer {
  const key = randomBytes(32)
  return {
    name,
    seal(plain) {
      const iv = randomBytes(12)
      const c = createCipheriv('aes-256-gcm', key, iv)
      const body = Buffer.concat([c.update(plain, 'utf8'), c.final()])
      return Buffer.concat([iv, c.getAuthTag(), body]).toString('base64')
    },
    open(sealed) {
      const b = Buffer.from(sealed, 'base64')
      const d = createDecipheriv('aes-256-gcm', key, b.subarray(0, 12))
      d.setAuthTag(b.subarray(12, 28))
      return Buffer.concat([d.update(b.subarray(28)), d.final()]).toString('utf8')
    },
  }
}

let home: string
let restoreEnv = () => {}
beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'scn-pacs-secrets-'))
  restoreEnv = setEnv({ SCN_STUDIO_HOME: home })
  useSecretSealer(null)
})
afterEach(() => {
  useSecretSealer(null)
  restoreEnv()
  rmSync(home, { recursive: true, force: true })
})

describe('PACS credentials at rest', () => {
  it('with the keychain sealer the file holds only ciphertext (0600), and the server still works', async () => {
    useSecretSealer(processKeySealer())
    await addServer({ name: 'archive', baseUrl: 'http://127.0.0.1:8042/dicom-web', auth: { type: 'basic', username: 'radiology', password: 'hunter2-secret' } })
    await addServer({ name: 'cloud', baseUrl: 'https://pacs.example/dicom-web', auth: { type: 'bearer', token: 'tok-abc-123' } })
    const text = readFileSync(serversFile(), 'utf8')
    expect(text).not.toContain('hunter2-secret')
    expect(text).not.toContain('tok-abc-123')
    expect(text).toContain('"sealed": "safeStorage"')
    expect(statSync(serversFile()).mode & 0o777).toBe(0o600)
    const servers = loadServers()
    expect(servers.find((s) => s.name === 'archive')!.auth).toEqual({ type: 'basic', username: 'radiology', password: 'hunter2-secret' })
    expect(servers.find((s) => s.name === 'cloud')!.auth).toEqual({ type: 'bearer', token: 'tok-abc-123' })
  })

  it('seals the secrets the CLI stored in plain text when the desktop app starts', async () => {
    await addServer({ name: 'archive', baseUrl: 'http://127.0.0.1:8042/dicom-web', auth: { type: 'basic', username: 'u', password: 'plain-pass' } })
    expect(readFileSync(serversFile(), 'utf8')).toContain('plain-pass') // the CLI's 0600 file
    useSecretSealer(processKeySealer())
    expect(await sealStoredSecrets()).toBe(1)
    expect(readFileSync(serversFile(), 'utf8')).not.toContain('plain-pass')
    expect(loadServers()[0].auth).toEqual({ type: 'basic', username: 'u', password: 'plain-pass' })
    expect(await sealStoredSecrets()).toBe(0)
  })

  it('a program without the keychain (CLI, web host) is told why, naming the server', async () => {
    useSecretSealer(processKeySealer())
    await addServer({ name: 'archive', baseUrl: 'http://127.0.0.1:8042/dicom-web', auth: { type: 'basic', username: 'u', password: 'p' } })
    useSecretSealer(null)
    expect(() => loadServers()).toThrow(/credentials of server "archive" are sealed by the desktop app's safeStorage .* pacs server add/)
    // a different key (another machine's keychain) cannot open them either
    useSecretSealer(processKeySealer())
    expect(() => loadServers()).toThrow(/credentials of server "archive" cannot be unsealed/)
  })
})
