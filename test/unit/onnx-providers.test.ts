/**
 * Choosing the execution provider without alarming native error lines: a GPU provider that cannot
 * work here (no CUDA provider library installed, no Vulkan loader for WebGPU) is skipped with a
 * sentence, before ONNX Runtime is asked; the CPU always runs.
 */
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { openSession, ortNativeDir, providerPreflight } from '../../src-main/inference/onnx-session.js'
import { appModelsDir } from '../../src-main/util/app-paths.js'

const dir = mkdtempSync(join(tmpdir(), 'scn-providers-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe.skipIf(process.platform !== 'linux')('provider preflight (Linux)', () => {
  it('skips CUDA unless its provider library sits beside onnxruntime-node', () => {
    expect(existsSync(join(ortNativeDir(), 'onnxruntime_binding.node'))).toBe(true)
    expect(providerPreflight('cuda', {}, dir)).toMatch(/CUDA provider files are not installed.*README/)
    writeFileSync(join(dir, 'libonnxruntime_providers_cuda.so'), '')
    expect(providerPreflight('cuda', {}, dir)).toBeNull()
  })

  it('skips WebGPU unless a Vulkan loader can be found (LD_LIBRARY_PATH included)', () => {
    const lib = join(dir, 'vk')
    const none = providerPreflight('webgpu', { LD_LIBRARY_PATH: lib }, dir)
    writeFileSync(join(dir, 'libvulkan.so.1'), '')
    expect(providerPreflight('webgpu', { LD_LIBRARY_PATH: dir }, dir)).toBeNull()
    // on a machine without a system Vulkan loader the reason names it
    if (none !== null) expect(none).toMatch(/libvulkan\.so\.1/)
    expect(providerPreflight('cpu', {}, dir)).toBeNull()
  })

  it('auto falls back to the CPU and says why each GPU provider was skipped', async () => {
    const s = await openSession(join(appModelsDir(), 'scn-flare-organs', 'localization.onnx'), 'auto')
    try {
      if (s.provider === 'cpu') {
        expect(s.skipped.map((k) => k.provider)).toEqual(['cuda', 'webgpu'])
        for (const k of s.skipped) expect(k.reason.length).toBeGreaterThan(10)
      }
    } finally {
      await s.session.release()
    }
  })
})
