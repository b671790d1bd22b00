/**
 * Electron fuses of the packaged app (issue 11 item 5), read back from electron-builder.yml through
 * electron-builder's own code: its schema accepts the block, and its PlatformPackager turns it into
 * the @electron/fuses wire config that is flipped into the binary. The Electron binary itself is not
 * present on this machine, so the flipped binary is not read; this checks what would be written.
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

const root = join(import.meta.dirname, '../..')
const require = createRequire(join(root, 'package.json'))
const yaml = require('js-yaml') as { load(s: string): Record<string, unknown> }
const config = yaml.load(readFileSync(join(root, 'electron-builder.yml'), 'utf8')) as Record<string, unknown>

const WANTED = {
  RunAsNode: false,
  EnableNodeOptionsEnvironmentVariable: false,
  EnableNodeCliInspectArguments: false,
  EnableCookieEncryption: true,
  EnableEmbeddedAsarIntegrityValidation: true,
  OnlyLoadAppFromAsar: true,
  GrantFileProtocolExtraPrivileges: false,
} as const

describe('electron-builder fuses', () => {
  it("electron-builder's schema accepts the electronFuses block, and asar (which two fuses rely on) is on with integrity data", async () => {
    expect(config.electronFuses).toBeTypeOf('object')
    const { validateConfiguration } = require('app-builder-lib/out/util/config/config.js') as { validateConfiguration(c: unknown, log: unknown): Promise<void> }
    await validateConfiguration(config, { isEnabled: false, add() {} })
    await expect(validateConfiguration({ ...config, electronFuses: { runAsNod: false } }, { isEnabled: false, add() {} })).rejects.toThrow(/electronFuses/)
    expect(config.asar).toBe(true)
    expect(config.disableAsarIntegrity).toBeUndefined()
  })

  it('maps, through electron-builder, to the wanted FuseV1Options (valid names in @electron/fuses)', async () => {
    const fuses = (await import('@electron/fuses')) as unknown as { FuseV1Options: Record<string, number | string>; FuseVersion: Record<string, string | number> }
    const { PlatformPackager } = require('app-builder-lib') as {
      PlatformPackager: { prototype: { generateFuseConfig(f: unknown): Promise<Record<string | number, unknown>> } }
    }
    // the very function electron-builder calls before flipping the fuses (it uses nothing of `this`)
    const wire = await PlatformPackager.prototype.generateFuseConfig.call({}, config.electronFuses)
    expect(wire.version).toBe(fuses.FuseVersion.V1)
    for (const [name, value] of Object.entries(WANTED)) {
      const option = fuses.FuseV1Options[name]
      expect(option, `${name} is a FuseV1Options member`).toBeTypeOf('number')
      expect(wire[option as number], name).toBe(value)
    }
    // nothing else is flipped by accident
    const set = Object.keys(wire).filter((k) => /^\d+$/.test(k)).map(Number).sort()
    expect(set).toEqual(Object.keys(WANTED).map((n) => fuses.FuseV1Options[n] as number).sort())
  })
})
