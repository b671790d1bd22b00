/**
 * Opening ONNX Runtime sessions — the engine's one loading path (the training parity test uses it
 * too). Providers are tried one at a time: a list like ['cuda','cpu'] makes creation fail instead of
 * falling back (docs/runtime-notes.md), and we want to tell the user in words why each one was skipped.
 */
import { cpus } from 'node:os'
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

export async function openSession(
  model: string | Uint8Array,
  device: DeviceChoice = 'cpu',
  options: ort.InferenceSession.SessionOptions = lowMemorySessionOptions(),
): Promise<OpenedSession> {
  const skipped: OpenedSession['skipped'] = []
  for (const provider of providerOrder(device)) {
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
