/** Segmentation runs in a worker thread: the host's thread stays responsive, cancel frees the worker. */
import { describe, expect, it } from 'vitest'
import { workerEngine } from '../../src-main/services/worker-engine.js'
import { generatePhantom } from '../../src-main/volumes/phantom.js'
import type { Volume } from '../../src-main/volumes/volume.js'
import { syntheticEngine } from '../helpers/synthetic-engine.js'

const engineModule = new URL('../helpers/synthetic-engine.ts', import.meta.url).href

function phantom(): Volume<Int16Array> {
  const p = generatePhantom({ dims: [48, 48, 32], spacing: [6, 6, 10], seed: 3 })
  return { ...p.ct, data: p.ct.data as Int16Array }
}

describe('worker engine', () => {
  it('gives the same labels as in-thread, with progress, while this thread keeps running timers', async () => {
    const ct = phantom()
    const expected = await syntheticEngine({ stepMs: 0 }).segment(ct, { device: 'cpu', signal: new AbortController().signal, onProgress: () => {} })
    let ticks = 0
    const timer = setInterval(() => ticks++, 10)
    const fractions: number[] = []
    const started = performance.now()
    const r = await workerEngine({ engineModule }).segment(ct, { device: 'cpu', signal: new AbortController().signal, onProgress: (p) => fractions.push(p.fraction) })
    const ms = performance.now() - started
    clearInterval(timer)
    expect(fractions).toEqual([0.25, 0.5, 0.75, 1])
    expect(r.labels).toEqual(expected.labels)
    // the worker blocked its own thread for 4 x 250 ms; a 10 ms timer here must have kept firing
    expect(ms).toBeGreaterThan(1000)
    expect(ticks).toBeGreaterThan(ms / 10 / 3)
    // the caller's CT is untouched (it was copied, not transferred)
    expect(ct.data.length).toBe(48 * 48 * 32)
  })

  it('cancels: rejects with AbortError at once and stops the worker', async () => {
    const ac = new AbortController()
    const p = workerEngine({ engineModule }).segment(phantom(), { device: 'cpu', signal: ac.signal, onProgress: () => ac.abort() })
    await expect(p).rejects.toMatchObject({ name: 'AbortError' })
  })

  it('reports an engine that cannot be loaded as an error, not a hang', async () => {
    const p = workerEngine({ engineModule: new URL('../helpers/does-not-exist.ts', import.meta.url).href }).segment(phantom(), {
      device: 'cpu',
      signal: new AbortController().signal,
      onProgress: () => {},
    })
    await expect(p).rejects.toThrow(/does-not-exist/)
  })
})
