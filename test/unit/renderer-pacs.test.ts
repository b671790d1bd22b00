/** The PACS panel's form and display helpers (src-renderer/pacs/pacs-store.ts): what the QIDO query gets, what the table shows; its controller offline. */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PacsSearchRequestSchema } from '../../src-shared/contract/schemas.js'
import { PacsController } from '../../src-renderer/pacs/pacs-controller.js'
import { pacsStore, showDate, showName, studyDateQuery } from '../../src-renderer/pacs/pacs-store.js'
import { testUid } from '../fixtures/dicom-series.js'
import { writeCachedSeries } from '../fixtures/pacs-cache.js'
import type {} from '../../src-renderer/api/electron.js' // window.scn, which the controller reads
import { syntheticEngine } from '../helpers/synthetic-engine.js'
import { startTestHost, type TestHost } from '../helpers/web-host.js'
import { setEnv } from '../helpers/env.js'

describe('PACS panel helpers', () => {
  it('turns the two date fields into a QIDO-RS StudyDate the contract accepts', () => {
    expect(studyDateQuery('', '')).toBeUndefined()
    expect(studyDateQuery('2025-12-01', '2026-01-31')).toBe('20251201-20260131')
    expect(studyDateQuery('2025-12-01', '')).toBe('20251201-')
    expect(studyDateQuery('', '2026-01-31')).toBe('-20260131')
    expect(studyDateQuery('2026-01-01', '2026-01-01')).toBe('20260101')
    for (const [a, b] of [['2025-12-01', '2026-01-31'], ['2025-12-01', ''], ['', '2026-01-31'], ['2026-01-01', '2026-01-01']]) {
      expect(PacsSearchRequestSchema.safeParse({ server: 'orthanc', studyDate: studyDateQuery(a, b) }).success).toBe(true)
    }
  })
  it('shows DICOM dates and person names readably, and leaves odd values as they are', () => {
    expect(showDate('20260101')).toBe('2026-01-01')
    expect(showDate('2026')).toBe('2026')
    expect(showName('Phantom^Test')).toBe('Phantom, Test')
    expect(showName('Doe')).toBe('Doe')
    expect(showName('')).toBe('')
  })
})

/**
 * The panel's controller against a real web host whose PACS cache holds a series and whose only
 * server is gone: the list, opening a copy, a workstation that declines to open (unsaved edits),
 * and a host that stops answering.
 */
describe('PACS panel controller, offline', () => {
  let t: TestHost
  let home: string
  let restoreEnv = () => {}
  const ref = { studyUid: testUid(), seriesUid: testUid() }
  const baseUrl = 'http://pacs.example.invalid:8042/dicom-web'

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'scn-pacs-ctl-'))
    restoreEnv = setEnv({ SCN_STUDIO_HOME: home })
    writeCachedSeries(baseUrl, ref, { description: 'venous', retrievedAt: '2026-12-01T10:00:00.000Z', dims: [24, 20, 5] })
    t = await startTestHost({ engine: syntheticEngine({ steps: 1, stepMs: 1 }) })
  }, 120_000)

  afterAll(async () => {
    await t?.close()
    restoreEnv()
    rmSync(home, { recursive: true, force: true })
  })

  it('lists the copy, opens it and remembers where it came from; a declined open changes nothing', async () => {
    let current: string | null = 'v-before'
    let declines = true
    const opened: string[] = []
    const ctl = new PacsController(t.client, {
      openFolder: async (path) => {
        if (declines) return // the workstation kept the CT with unsaved edits
        const r = await t.client.volumes.open({ path })
        if (r.status === 'opened') {
          current = r.volume.volumeId
          opened.push(path)
        }
      },
      currentVolumeId: () => current,
      saveNow: async () => true,
    })
    try {
      pacsStore.setState({ cached: null, opened: null, error: 'The series on this computer could not be listed: earlier' })
      await ctl.loadCached()
      const { cached, error } = pacsStore.getState()
      expect(error, 'a listing that works clears its own earlier failure').toBeNull()
      expect(cached!.map((c) => [c.description, c.server, c.instances, c.filesPresent])).toEqual([['venous', null, 5, 5]])
      const row = cached![0]

      await ctl.openCached(row)
      expect(pacsStore.getState()).toMatchObject({ opened: null, openingCached: null, error: null })

      declines = false
      await ctl.openCached(row)
      expect(opened).toHaveLength(1)
      expect(pacsStore.getState().opened).toMatchObject({ volumeId: current, serverKey: row.serverKey, seriesUid: ref.seriesUid, server: baseUrl })
      expect(pacsStore.getState().openingCached).toBeNull()

      // a copy that is no longer there: the host's refusal in words, nothing else changes
      const before = pacsStore.getState().opened
      await ctl.openCached({ ...row, seriesUid: testUid() })
      expect(pacsStore.getState().error).toContain("is not in this computer's PACS cache")
      expect(pacsStore.getState().opened).toEqual(before)
    } finally {
      ctl.dispose()
    }
  })

  it('a host that stops answering: the list is unknown (not "none retrieved yet") and the failure is said', async () => {
    const ctl = new PacsController(t.client, { openFolder: async () => {}, currentVolumeId: () => null, saveNow: async () => true })
    try {
      await t.close()
      await ctl.loadCached()
      expect(pacsStore.getState().cached).toBeNull()
      expect(pacsStore.getState().error).toMatch(/^The series on this computer could not be listed: /)
    } finally {
      ctl.dispose()
    }
  })
})
