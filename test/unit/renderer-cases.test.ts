/**
 * The page's cases controller against a real web host: overlapping status changes show the outcome
 * of the latest one, so a slow earlier success never wipes a later refusal off the screen.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { createHttpTransport } from '../../src-shared/contract/index.js'
import { ContractScnClient } from '../../src-renderer/api/contract-client.js'
import type { LoadedCase } from '../../src-renderer/api/types.js'
import { CasesController } from '../../src-renderer/cases/cases-controller.js'
import { casesStore } from '../../src-renderer/store/cases-store.js'
import { syntheticEngine } from '../helpers/synthetic-engine.js'
import { startTestHost, type TestHost } from '../helpers/web-host.js'

describe('case actions in the page', () => {
  let t: TestHost
  let page: ContractScnClient
  let c: LoadedCase
  /** autosave stand-in that the test can hold: the first call waits until released */
  let release: () => void = () => {}
  let held: Promise<void> | null = null
  const saveNow = async () => {
    const h = held
    held = null
    if (h) await h
    return true
  }

  beforeAll(async () => {
    t = await startTestHost({ engine: syntheticEngine({ steps: 1, stepMs: 1 }) })
    page = new ContractScnClient('web', createHttpTransport({ baseUrl: t.host.url, token: t.host.token, WebSocket: WebSocket as never }))
    c = await page.openPath(t.phantomPath)
  }, 120_000)

  afterAll(async () => t?.close())

  it('a refused later status change stays on screen when an earlier one succeeds after it', async () => {
    const cases = new CasesController(page, saveNow, () => c)
    await cases.saveAsCase('overlap')
    const id = casesStore.getState().openCaseId!
    expect(id).toBeTruthy()
    // the user picks 'in-progress' (its autosave is slow), then 'reviewed' (refused: nothing approved)
    held = new Promise<void>((r) => (release = r))
    const first = cases.setCaseStatus(id, 'in-progress')
    await cases.setCaseStatus(id, 'reviewed')
    expect(casesStore.getState().error).toMatch(/reviewed/)
    release()
    await first
    expect((await t.client.cases.get({ caseId: id })).status).toBe('in-progress')
    expect(casesStore.getState().error).toMatch(/reviewed/)
    // the next action's outcome replaces it
    await cases.setCaseStatus(id, 'todo')
    expect(casesStore.getState().error).toBeNull()
  })
})
