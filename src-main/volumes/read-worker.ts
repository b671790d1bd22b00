/**
 * The volume reader's thread (read-thread.ts starts it): reads CTs and labelmaps off the host's
 * main thread, where a synchronous gunzip, DICOM parse or JPEG 2000 decode would stall every other
 * call and event for as long as it runs. Requests carry an id; replies transfer the voxels.
 */
import { parentPort } from 'node:worker_threads'
import { int16Hu, readCt, readLabels } from './read.js'
import { listDicomSeries, type DicomSeriesInfo } from './dicom.js'
import type { Volume } from '../../src-shared/volume.js'

export interface ReadRequest {
  id: number
  /** 'ct-int16': readCt, then int16Hu (the app's copy of a CT) */
  kind: 'ct' | 'ct-int16' | 'labels' | 'dicom-series'
  /** absolute */
  path: string
  seriesUid?: string
}

export type ReadReply =
  | { id: number; ok: true; volume: Volume; int16?: { rounded: boolean; range: [number, number] } }
  | { id: number; ok: true; series: DicomSeriesInfo[] }
  | { id: number; ok: false; error: { name: string; message: string; code?: string; file?: string } }

/** Voxel buffers at least this large are moved, not copied (smaller ones may share a pool slab). */
const TRANSFER_MIN_BYTES = 64 * 1024

async function answer(req: ReadRequest): Promise<{ reply: ReadReply; transfer: ArrayBuffer[] }> {
  try {
    // a DICOM folder's series: every file's header is read (a thousand-file folder takes seconds)
    if (req.kind === 'dicom-series') return { reply: { id: req.id, ok: true, series: listDicomSeries(req.path) }, transfer: [] }
    let volume: Volume = req.kind === 'labels' ? await readLabels(req.path) : await readCt(req.path, { seriesUid: req.seriesUid })
    let int16: { rounded: boolean; range: [number, number] } | undefined
    if (req.kind === 'ct-int16') {
      const r = int16Hu(volume)
      volume = r.volume
      int16 = { rounded: r.rounded, range: r.range }
    }
    const buf = volume.data.buffer as ArrayBuffer
    const whole = volume.data.byteOffset === 0 && volume.data.byteLength === buf.byteLength
    return { reply: { id: req.id, ok: true, volume, ...(int16 ? { int16 } : {}) }, transfer: whole && buf.byteLength >= TRANSFER_MIN_BYTES ? [buf] : [] }
  } catch (e) {
    const err = e as Error & { code?: unknown; file?: unknown }
    const error = {
      name: err?.name ?? 'Error',
      message: String(err?.message ?? e),
      ...(typeof err?.code === 'string' ? { code: err.code } : {}),
      ...(typeof err?.file === 'string' ? { file: err.file } : {}),
    }
    return { reply: { id: req.id, ok: false, error }, transfer: [] }
  }
}

if (parentPort) {
  const port = parentPort
  port.on('message', (req: ReadRequest) => {
    void answer(req).then(({ reply, transfer }) => {
      try {
        port.postMessage(reply, transfer)
      } catch (e) {
        // a volume that cannot cross (never seen; a failure here must not take other reads down)
        port.postMessage({ id: req.id, ok: false, error: { name: 'Error', message: `${req.path}: the volume could not be handed over (${(e as Error)?.message ?? e})` } } satisfies ReadReply)
      }
    })
  })
}
