/**
 * Opening ONNX Runtime sessions — the engine's one loading path (the training parity test uses it
 * too). Providers are tried one at a time: a list like ['cuda','cpu'] makes creation fail instead of
 * falling back (docs/runtime-notes.md), and we want to tell the user in words why each one was skipped.
 */
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { cpus } from 'node:os'
import { delimiter, dirname, join } from 'node:path'
import * as ort from 'onnxruntime-node'

export type ProviderName = 'cuda' | 'webgpu' | 'cpu'
export type DeviceChoice = 'auto' | 'cpu' | 'gpu' | ProviderName

export interface OpenedSession {
  session: ort.InferenceSession
  provider: ProviderName
  /** why each provider before the one used was skipped */
  skipped: { provider: ProviderName; reason: string }[]
}

export function providerOrder(device: DeviceChoice): ProviderName[] {
  switch (device) {
    case 'cpu':
      return ['cpu']
    case 'gpu':
      return ['cuda', 'webgpu']
    case 'cuda':
    case 'webgpu':
      return [device]
    default:
      return ['cuda', 'webgpu', 'cpu']
  }
}

/** Session options chosen for low memory at full speed (measured in `npm run bench`). */
export function lowMemorySessionOptions(): ort.InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: Math.max(1, cpus().length),
    interOpNumThreads: 1,
    enableMemPattern: false,
    enableCpuMemArena: true,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
  }
}

function explain(provider: ProviderName, e: unknown): string {
  const msg = String((e as Error)?.message ?? e)
  if (provider === 'cuda' && /shared library|libonnxruntime_providers_cuda|cannot open/i.test(msg)) {
    return 'the CUDA provider files are not installed (see README: GPU with CUDA)'
  }
  if (provider === 'cuda' && /CUDA driver|no CUDA-capable|cudaError/i.test(msg)) return 'no usable NVIDIA GPU or driver'
  if (provider === 'webgpu' && /adapter|webgpu|dawn/i.test(msg)) return 'no WebGPU adapter (no GPU with Vulkan, D3D12 or Metal was found)'
  return msg.split('\n')[0]
}

/** onnxruntime-node's folder of native libraries for this platform (where the CUDA provider goes). */
export function ortNativeDir(): string {
  const pkg = createRequire(import.meta.url).resolve('onnxruntime-node/package.json')
  return join(dirname(pkg), 'bin', 'napi-v6', process.platform, process.arch)
}

const CUDA_PROVIDER_FILE: Partial<Record<NodeJS.Platform, string>> = { linux: 'libonnxruntime_providers_cuda.so', win32: 'onnxruntime_providers_cuda.dll' }

/**
 * Why a GPU provider cannot work here, found without asking ONNX Runtime (null: try it). Asking it
 * costs time and prints alarming native error lines (a missing CUDA provider library; Dawn's
 * "Couldn't load Vulkan") for what is the normal case on a machine without them.
 */
export function providerPreflight(provider: ProviderName, env: NodeJS.ProcessEnv = process.env, nativeDir = ortNativeDir()): string | null {
  if (provider === 'cuda') {
    const file = CUDA_PROVIDER_FILE[process.platform]
    if (!file) return 'ONNX Runtime has no CUDA provider on this platform'
    if (!existsSync(join(nativeDir, file))) return 'the CUDA provider files are not installed (see README: GPU with CUDA)'
  }
  if (provider === 'webgpu' && process.platform === 'linux') {
    // WebGPU (Dawn) runs on Vulkan on Linux: without the Vulkan loader there is no adapter to find
    const dirs = [...(env.LD_LIBRARY_PATH ?? '').split(delimiter).filter(Boolean), '/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/usr/local/lib', '/lib/x86_64-linux-gnu', '/lib64']
    if (!dirs.some((d) => existsSync(join(d, 'libvulkan.so.1')))) return 'no WebGPU adapter (no Vulkan loader, libvulkan.so.1, on this machine)'
  }
  return null
}

export async function openSession(
  model: string | Uint8Array,
  device: DeviceChoice = 'cpu',
  options: ort.InferenceSession.SessionOptions = lowMemorySessionOptions(),
): Promise<OpenedSession> {
  const skipped: OpenedSession['skipped'] = []
  for (const provider of providerOrder(device)) {
    const cannot = providerPreflight(provider)
    if (cannot) {
      skipped.push({ provider, reason: cannot })
      continue
    }
    try {
      // Probing a GPU provider that is absent makes ONNX Runtime log an error line to stderr; we
      // report the reason ourselves, so keep its log quiet for those attempts.
      const quiet = provider !== 'cpu' && options.logSeverityLevel === undefined ? { logSeverityLevel: 4 as const } : {}
      const opts = { ...options, ...quiet, executionProviders: [provider] }
      const session = typeof model === 'string' ? await ort.InferenceSession.create(model, opts) : await ort.InferenceSession.create(model, opts)
      return { session, provider, skipped }
    } catch (e) {
      skipped.push({ provider, reason: explain(provider, e) })
    }
  }
  const why = skipped.map((s) => `${s.provider}: ${s.reason}`).join('; ')
  throw new Error(`no execution provider could run the model (${why})`)
}
