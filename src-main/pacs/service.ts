/**
 * The `pacs` contract service: the renderer's PACS browser. It names servers only by their
 * configured name (the servers file; never a URL from the page, never a secret back to it), searches
 * (QIDO-RS), retrieves a series into the cache (whole or nothing, with progress events and cancel)
 * and grants the cached folder for reading, so the page opens it with volumes.open like any DICOM
 * folder. sendSeg exports the open volume's labels as a DICOM SEG and stores it (STOW-RS) on the
 * server its series came from, found from the cache folder's manifest. cached and openCached list
 * and open the series kept in the cache from local files alone, so a user without the network (or
 * with the server down) still opens what was retrieved before.
 */
import { closeSync, openSync, readSync } from 'node:fs'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { ContractError } from '../../src-shared/contract/errors.js'
import type { ErrorCode } from '../../src-shared/contract/schemas.js'
import type { OpenVolume } from '../services/volume-store.js'
import { cachedSeriesFolder, fetchSeries, readManifest, type SeriesManifest } from './cache.js'
import { DicomwebClient, type StudyQuery } from './dicomweb.js'
import { PacsError } from './errors.js'
import { cachedSeriesRows, stowFiles } from './index.js'
import { loadServers, resolveServer, serverLabel, type PacsServer } from './servers.js'

export interface PacsServiceDeps {
  /** the cached series folder becomes readable (and an opened source) */
  grantRead(path: string): void
  volume(volumeId: string): OpenVolume
  /** writes the volume's current labels as a DICOM SEG at `out`; returns the files written */
  exportSeg(v: OpenVolume, out: string): Promise<string[]>
  onProgress(p: { retrieveId: string; received: number; total: number; bytes: number }): void
}

/** PACS errors as contract errors: the message (server, series, problem; never a secret) is kept. */
export function pacsContractError(e: unknown): unknown {
  if (!(e instanceof PacsError)) return e
  const code: ErrorCode = e.code === 'cancelled' ? 'cancelled' : e.exitCode === 3 ? 'bad-input' : 'failed'
  return new ContractError(code, e.message)
}

async function pacsCall<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (e) {
    throw pacsContractError(e)
  }
}

function configured(name: string): PacsServer {
  const s = loadServers().find((x) => x.name === name)
  if (!s) {
    const names = loadServers()
      .map((x) => x.name)
      .join(', ')
    throw new ContractError('not-found', `no PACS server named "${name}" is configured${names ? ` (configured: ${names})` : ''}; add one with \`scn-studio pacs server add <name> <base-url>\``)
  }
  return s
}

/** The manifest of a retrieved series, when the volume was opened from the PACS cache. */
function manifestOf(v: OpenVolume): SeriesManifest | undefined {
  return readManifest(v.summary.path)
}

function isPart10(file: string): boolean {
  try {
    const fd = openSync(file, 'r')
    try {
      const b = Buffer.alloc(4)
      return readSync(fd, b, 0, 4, 128) === 4 && b.toString('latin1') === 'DICM'
    } finally {
      closeSync(fd)
    }
  } catch {
    return false // a folder, or unreadable: not something to store
  }
}

/** fetchSeries, where a cancel before the first instance says the same as one during the download. */
async function retrieveSeries(...args: Parameters<typeof fetchSeries>): ReturnType<typeof fetchSeries> {
  try {
    return await fetchSeries(...args)
  } catch (e) {
    if (e instanceof PacsError && e.code === 'cancelled') throw new PacsError('cancelled', e.server, args[0].seriesUid, 'retrieval cancelled: nothing was kept')
    throw e
  }
}

export function createPacsService(deps: PacsServiceDeps) {
  const retrievals = new Map<string, AbortController>()

  return {
    impl: {
      async servers() {
        return { servers: loadServers().map((s) => ({ name: s.name!, baseUrl: s.baseUrl, auth: s.auth?.type ?? ('none' as const) })) }
      },
      async search({ server, ...q }: { server: string } & StudyQuery) {
        return pacsCall(async () => ({ studies: await new DicomwebClient(configured(server)).searchStudies(q) }))
      },
      async series({ server, studyUid }: { server: string; studyUid: string }) {
        return pacsCall(async () => ({ series: await new DicomwebClient(configured(server)).searchSeries(studyUid) }))
      },
      async retrieve({ server, studyUid, seriesUid, retrieveId }: { server: string; studyUid: string; seriesUid: string; retrieveId: string }) {
        if (retrievals.has(retrieveId)) throw new ContractError('conflict', `retrieval ${retrieveId} is already running`)
        const abort = new AbortController()
        retrievals.set(retrieveId, abort)
        // progress at most ~10 times a second, and always the last one
        let last = 0
        try {
          const r = await pacsCall(() =>
            retrieveSeries(
              { server: configured(server), studyUid, seriesUid },
              {
                requireCt: true,
                signal: abort.signal,
                onProgress: (p) => {
                  const now = Date.now()
                  if (now - last < 100 && p.received < p.total) return
                  last = now
                  deps.onProgress({ retrieveId, ...p })
                },
              },
            ),
          )
          deps.grantRead(r.folder)
          return { path: r.folder, instances: r.manifest.instances, modality: r.manifest.modality, description: r.manifest.description, fromCache: r.fromCache }
        } finally {
          retrievals.delete(retrieveId)
        }
      },
      async cancel({ retrieveId }: { retrieveId: string }) {
        const a = retrievals.get(retrieveId)
        a?.abort()
        return { retrieveId, cancelled: Boolean(a) }
      },
      async sendSeg({ volumeId }: { volumeId: string }) {
        const v = deps.volume(volumeId)
        const m = manifestOf(v)
        if (!m) throw new ContractError('bad-request', `${v.summary.name}: this CT was not retrieved from a PACS, so there is no server to send its SEG to; export it as a DICOM SEG file instead`)
        const server = resolveServer(m.baseUrl)
        const dir = await mkdtemp(join(tmpdir(), 'scn-pacs-seg-'))
        try {
          const written = await deps.exportSeg(v, join(dir, `${basename(v.summary.path)}-seg.dcm`))
          // the SEG only: the export also writes sidecars (provenance JSON) that are not DICOM
          const files = written.filter(isPart10)
          if (files.length === 0) throw new ContractError('failed', `the DICOM SEG export of ${v.summary.name} wrote no DICOM file (${written.map((f) => basename(f)).join(', ')})`)
          const r = await pacsCall(() => stowFiles(m.baseUrl, files))
          return { server: serverLabel(server), stored: r.stored.map((s) => ({ studyUid: s.studyUid, seriesUid: s.seriesUid, sopInstanceUid: s.sopInstanceUid })) }
        } finally {
          await rm(dir, { recursive: true, force: true })
        }
      },
      async cached() {
        // the page gets names, never the folders (openCached finds them again)
        return { series: (await cachedSeriesRows()).map(({ folder: _folder, ...row }) => row) }
      },
      async openCached({ serverKey, studyUid, seriesUid }: { serverKey: string; studyUid: string; seriesUid: string }) {
        // names, not a path: the folder is found under the cache root and must hold its manifest
        const found = cachedSeriesFolder(serverKey, studyUid, seriesUid)
        if (!found) throw new ContractError('not-found', `series ${seriesUid} is not in this computer's PACS cache`)
        const { folder, manifest: m } = found
        if (m.modality && m.modality !== 'CT') throw new ContractError('bad-input', `series ${seriesUid} is ${m.modality}, not CT: the SCN segments CT only`)
        // the cache holds whole series: one with images removed since is not opened as if it were
        const present = (await readdir(folder)).filter((f) => f.endsWith('.dcm')).length
        if (present < m.instances) throw new ContractError('bad-input', `series ${seriesUid}: only ${present} of its ${m.instances} images are in the cache; open it from its server again`)
        deps.grantRead(folder)
        return { path: folder, instances: m.instances, modality: m.modality, description: m.description, fromCache: true }
      },
    },
    dispose(): void {
      for (const a of retrievals.values()) a.abort()
      retrievals.clear()
    },
  }
}
