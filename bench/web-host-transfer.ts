/**
 * How fast volumes cross the web host's wire (loopback HTTP, binary frames), and what it costs the
 * host in memory: open a synthetic CT, fetch its voxels once, then put and get its labelmap, as
 * the renderer does. Prints figures; not a test.
 *
 *   npx tsx bench/web-host-transfer.ts [nx ny nz]      (default 512 512 300)
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import WebSocket from 'ws'
import { createHttpTransport, createScnClient } from '../src-shared/contract/index.js'
import { startWebHost } from '../src-main/hosts/web/server.js'
import { createServices } from '../src-main/services/index.js'
import { writeNifti } from '../src-main/volumes/nifti.js'
import { readCt } from '../src-main/volumes/read.js'
import type { Vec3 } from '../src-shared/volume.js'

const dims = (process.argv.length >= 5 ? process.argv.slice(2, 5).map(Number) : [512, 512, 300]) as Vec3
const n = dims[0] * dims[1] * dims[2]
const dir = mkdtempSync(join(tmpdir(), 'scn-bench-wire-'))
const mib = (b: number) => (b / 2 ** 20).toFixed(0)
let peakRss = 0
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 20)

try {
  // A CT-like volume without the phantom's cost: HU ramps, a body ellipse at -1000 outside.
  const data = new Int16Array(n)
  for (let k = 0, i = 0; k < dims[2]; k++)
    for (let y = 0; y < dims[1]; y++)
      for (let x = 0; x < dims[0]; x++, i++) {
        const dx = (x - dims[0] / 2) / (dims[0] * 0.45)
        const dy = (y - dims[1] / 2) / (dims[1] * 0.35)
        data[i] = dx * dx + dy * dy < 1 ? ((x + y + k) % 200) - 50 : -1000
      }
  const path = join(dir, 'ct.nii.gz')
  await writeNifti({ dims, spacing: [0.8, 0.8, 2.5], origin: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1], data, meta: {} }, path)
  const runtime = createServices({ host: 'web', launchPath: path, workspaceDir: join(dir, 'ws') })
  const host = await startWebHost({ runtime })
  const transport = createHttpTransport({ baseUrl: host.url, token: host.token, WebSocket: WebSocket as never })
  const scn = createScnClient(transport)
  const rssBase = process.memoryUsage.rss()
  const time = async <T>(label: string, bytes: number, fn: () => Promise<T>): Promise<T> => {
    const t0 = performance.now()
    const r = await fn()
    const s = (performance.now() - t0) / 1000
    console.log(`${label.padEnd(28)} ${s.toFixed(3).padStart(7)} s  ${mib(bytes).padStart(5)} MiB  ${(bytes / 2 ** 20 / s).toFixed(0).padStart(5)} MiB/s`)
    return r
  }
  console.log(`volume ${dims.join('×')} (${(n / 1e6).toFixed(1)} M voxels), loopback HTTP, binary frames`)
  // the host's main thread while it opens: the CT is read on the reader thread (read-thread.ts);
  // reading it in place would hold the thread for the whole read
  const stall = async (fn: () => Promise<unknown>) => {
    let last = performance.now()
    let worst = 0
    const t = setInterval(() => {
      const now = performance.now()
      worst = Math.max(worst, now - last)
      last = now
    }, 1)
    try {
      await fn()
    } finally {
      clearInterval(t)
    }
    return Math.max(worst, performance.now() - last)
  }
  let opened!: Awaited<ReturnType<typeof scn.volumes.open>>
  const openStall = await stall(async () => (opened = await time('volumes.open (read .nii.gz)', n * 2, () => scn.volumes.open({ path }))))
  if (opened.status !== 'opened') throw new Error('expected opened')
  const inPlaceStall = await stall(() => readCt(path))
  console.log(`host main thread, longest stall: ${openStall.toFixed(0)} ms during volumes.open (reader thread); ${inPlaceStall.toFixed(0)} ms reading the same file in place`)
  const id = opened.volume.volumeId
  const vox = await time('volumes.getVoxels (int16)', n * 2, () => scn.volumes.getVoxels({ volumeId: id }))
  if (vox.data.length !== n) throw new Error('wrong voxel count')
  const lm = await time('labels.get (uint8)', n, () => scn.labels.get({ volumeId: id }))
  lm.data.fill(1, 0, n >> 1)
  await time('labels.put (uint8)', n, () => scn.labels.put({ header: lm.header, data: lm.data }))
  await time('statistics.compute', n * 3, () => scn.statistics.compute({ volumeId: id }))
  console.log(`peak RSS ${mib(peakRss)} MiB (before transfers ${mib(rssBase)} MiB; CT ${mib(n * 2)} MiB + labels ${mib(n)} MiB held by the host, the same again by this client)`)
  transport.close()
  await host.close()
} finally {
  clearInterval(sampler)
  rmSync(dir, { recursive: true, force: true })
}
