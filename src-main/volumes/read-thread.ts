/**
 * Reading volumes off the main thread, for the hosts: a 512x512x300 .nii.gz takes ~0.6 s of
 * synchronous gunzip and parsing, a DICOM series or JPEG 2000 slab longer, and on the main thread
 * that stalls every call, event and autosave of the app meanwhile. One reader thread per process,
 * started on first use, reused, and stopped when idle (its memory goes with it). The voxels come
 * back transferred, not copied; a reader's error comes back as the same VolumeError.
 */
import { SHARE_ENV, Worker } from 'node:worker_threads'
import { resolveInputPath } from './input.js'
import { workerScriptUrl } from '../util/worker-url.js'
import { VolumeError, type VolumeErrorCode } from './errors.js'
import type { ReadOptions } from './read.js'
import type { ReadReply, ReadRequest } from './read-worker.js'
import type { CtVolume, LabelVolume, Volume } from '../../src-shared/volume.js'
import type { DicomSeriesInfo } from './dicom.js'

/** an idle reader thread stops after this long */
const IDLE_MS = 15_000

type Answer = Extract<ReadReply, { ok: true }>
type VolumeAnswer = Extract<Answer, { volume: Volume }>

let worker: Worker | null = null
let nextId = 1
let idleTimer: ReturnType<typeof setTimeout> | null = null
const pending = new Map<number, { resolve: (v: Answer) => void; reject: (e: Error) => void; path: string; thread: Worker }>()

function reviveError(e: Extract<ReadReply, { ok: false }>['error']): Error {
  if (e.name === 'VolumeError' && e.code && e.file !== undefined) {
    const prefix = `${e.file}: `
    return new VolumeError(e.code as VolumeErrorCode, e.file, e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message)
  }
  const err = new Error(e.message)
  err.name = e.name
  if (e.code) (err as Error & { code?: string }).code = e.code
  return err
}

function stopWorker(w: Worker, why: string): void {
  if (worker === w) worker = null
  for (const [id, p] of pending) {
    if (p.thread !== w) continue
    pending.delete(id)
    p.reject(new Error(`${p.path}: the reader thread stopped (${why})`))
  }
  void w.terminate()
}

function readerThread(): Worker {
  if (worker) return worker
  // SHARE_ENV: limits set in process.env (SCN_STUDIO_MAX_VOXELS, ...) apply to reads at once
  const w = new Worker(workerScriptUrl('./read-worker-entry.mjs', import.meta.url), { env: SHARE_ENV })
  w.on('message', (reply: ReadReply) => {
    const p = pending.get(reply.id)
    if (!p) return
    pending.delete(reply.id)
    if (reply.ok) p.resolve(reply)
    else p.reject(reviveError(reply.error))
    settle()
  })
  w.on('error', (e) => stopWorker(w, e instanceof Error ? e.message : String(e)))
  w.on('messageerror', (e) => stopWorker(w, `a reply could not be read: ${e.message}`))
  w.on('exit', (code) => stopWorker(w, `exit code ${code}`))
  worker = w
  return w
}

/** An idle thread keeps nobody alive and goes after IDLE_MS; a busy one holds the process. */
function settle(): void {
  if (idleTimer) clearTimeout(idleTimer)
  idleTimer = null
  const w = worker
  if (!w) return
  if (pending.size > 0) {
    w.ref()
    return
  }
  w.unref()
  idleTimer = setTimeout(() => {
    if (worker === w && pending.size === 0) {
      worker = null
      void w.terminate()
    }
  }, IDLE_MS)
  idleTimer.unref()
}

function askThread(kind: ReadRequest['kind'], path: string, opts: ReadOptions = {}): Promise<Answer> {
  const abs = resolveInputPath(path)
  const w = readerThread()
  const id = nextId++
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject, path: abs, thread: w })
    settle()
    const req: ReadRequest = { id, kind, path: abs, ...(opts.seriesUid ? { seriesUid: opts.seriesUid } : {}) }
    w.postMessage(req)
  })
}

/** readCt (read.ts) on the reader thread. */
export async function readCtOffThread(path: string, opts: ReadOptions = {}): Promise<CtVolume> {
  return ((await askThread('ct', path, opts)) as VolumeAnswer).volume as CtVolume
}

/** readCt then int16Hu (read.ts), both on the reader thread: the app's copy of a CT and its range. */
export async function readInt16CtOffThread(path: string, opts: ReadOptions = {}): Promise<{ volume: Volume<Int16Array>; rounded: boolean; range: [number, number] }> {
  const r = (await askThread('ct-int16', path, opts)) as VolumeAnswer
  return { volume: r.volume as Volume<Int16Array>, rounded: r.int16!.rounded, range: r.int16!.range }
}

/** readLabels (read.ts) on the reader thread. */
export async function readLabelsOffThread(path: string): Promise<LabelVolume> {
  return ((await askThread('labels', path)) as VolumeAnswer).volume as LabelVolume
}

/** listDicomSeries (dicom.ts) on the reader thread. */
export async function listDicomSeriesOffThread(folder: string): Promise<DicomSeriesInfo[]> {
  return ((await askThread('dicom-series', folder)) as Extract<Answer, { series: DicomSeriesInfo[] }>).series
}
