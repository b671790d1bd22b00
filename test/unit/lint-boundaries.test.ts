/**
 * The import boundaries of `npm run lint` (.dependency-cruiser.cjs) fire: a throw-away tree with
 * one offender per rule (a renderer .ts importing src-main/hosts/, a .vue importing a type from src-main, volumes/ importing services and
 * the contract, src-shared/ importing src-main, an http import outside the hosts, a cycle) gives
 * exactly those errors and nothing for the allowed imports beside them (hosts using node:http,
 * tests importing anything, the renderer importing src-shared). And the real tree passes.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { cruise, type ICruiseResult } from 'dependency-cruiser'
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const CONFIG = join(ROOT, '.dependency-cruiser.cjs')

async function lint(baseDir: string, dirs: string[]): Promise<string[]> {
  const options = await extractDepcruiseOptions(CONFIG)
  const r = await cruise(dirs, { ...options, validate: true, baseDir }, options.enhancedResolveOptions ?? {})
  const out = r.output as ICruiseResult
  return out.summary.violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`).sort()
}

const made: string[] = []
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true })
})

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'scn-lint-'))
  made.push(dir)
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true })
    writeFileSync(join(dir, path), text)
  }
  return dir
}

describe('npm run lint: import boundaries', () => {
  it('reports each forbidden import, and only those', async () => {
    const dir = tree({
      // allowed: a host speaks HTTP; the renderer uses src-shared; a test imports anything
      'src-main/hosts/web/server.ts': "import { createServer } from 'node:http'\nexport const serve = createServer\n",
      'src-main/services/index.ts': 'export const services = 1\n',
      'src-shared/contract/schemas.ts': 'export const Schema = 1\n',
      'src-shared/geometry.ts': 'export const dot = 1\n',
      'src-renderer/ok.ts': "import { Schema } from '../src-shared/contract/schemas.js'\nexport const ok = Schema\n",
      'test/anything.test.ts': "import { serve } from '../src-main/hosts/web/server.js'\nimport { services } from '../src-main/services/index.js'\nexport const t = [serve, services]\n",
      // forbidden, one per rule
      'src-renderer/leak.ts': "import { serve } from '../src-main/hosts/web/server.js'\nexport const leak = serve\n",
      'src-renderer/Leak.vue': "<script setup lang=\"ts\">\nimport type { services } from '../src-main/services/index.js'\nconst s: typeof services = 1\n</script>\n<template><div>{{ s }}</div></template>\n",
      'src-main/volumes/reader.ts':
        "import { dot } from '../../src-shared/geometry.js'\nimport { services } from '../services/index.js'\nimport { Schema } from '../../src-shared/contract/schemas.js'\nexport const r = [dot, services, Schema]\n",
      'src-shared/labels.ts': "import { services } from '../src-main/services/index.js'\nexport const l = services\n",
      'src-main/export/upload.ts': "import { request } from 'node:https'\nexport const u = request\n",
      'src-main/cases/a.ts': "import { b } from './b.js'\nexport const a = () => b\n",
      'src-main/cases/b.ts': "import { a } from './a.js'\nexport const b = () => a\n",
    })
    expect(await lint(dir, ['src-main', 'src-shared', 'src-renderer', 'test'])).toEqual(
      [
        'no-circular: src-main/cases/a.ts -> src-main/cases/b.ts',
        'only-hosts-speak-electron-and-http: src-main/export/upload.ts -> https',
        'renderer-imports-only-shared: src-renderer/leak.ts -> src-main/hosts/web/server.ts',
        'renderer-imports-only-shared: src-renderer/Leak.vue -> src-main/services/index.ts',
        'shared-imports-nothing-above: src-shared/labels.ts -> src-main/services/index.ts',
        'volumes-import-nothing-above: src-main/volumes/reader.ts -> src-main/services/index.ts',
        'volumes-import-nothing-above: src-main/volumes/reader.ts -> src-shared/contract/schemas.ts',
      ].sort(),
    )
  })

  it('the repository itself has no violation (what npm run lint checks)', async () => {
    expect(await lint(ROOT, ['src-main', 'src-shared', 'src-renderer'])).toEqual([])
  })
})
