/**
 * Small page helpers for the UI tests, on top of the shared harness (test/e2e/harness.ts: web host,
 * Chromium flags, viewport pixel sampling, screenshots).
 */
import type { Page } from 'playwright-core'
import type {} from '../../src-renderer/test-api.js'

/** Waits until the renderer says the case is open (or throws its plain-words error). */
export async function waitReady(page: Page, timeout = 120_000): Promise<void> {
  await page.waitForFunction(
    () => {
      const s = document.querySelector('[data-testid=load-state]')?.getAttribute('data-state')
      if (s === 'error') throw new Error(document.querySelector('[data-testid=error]')?.textContent ?? 'load failed')
      return s === 'ready' && !!window.__scn
    },
    null,
    { timeout, polling: 200 },
  )
}

/** How many answers the stats worker has given; tests wait for it to move after an edit. */
export async function statsVersion(page: Page): Promise<number> {
  return Number(await page.getAttribute('[data-testid=stats-version]', 'data-version'))
}

export async function waitStatsAfter(page: Page, version: number): Promise<void> {
  await page.waitForFunction((v) => Number(document.querySelector('[data-testid=stats-version]')?.getAttribute('data-version')) > v, version, { timeout: 30_000 })
}

/**
 * Starts watching for `selector` before an action and returns a check that says whether it was
 * ever in the page since. A waitForSelector polls, so on a fast machine it can miss an element
 * that lived a few milliseconds (a progress bar of a run that finished at once); a
 * MutationObserver sees every insertion.
 */
export async function watchAppearance(page: Page, selector: string): Promise<() => Promise<boolean>> {
  const key = `__seen:${selector}`
  await page.evaluate(
    ({ selector, key }) => {
      const w = window as unknown as Record<string, unknown>
      w[key] = !!document.querySelector(selector)
      const observer = new MutationObserver(() => {
        if (document.querySelector(selector)) {
          w[key] = true
          observer.disconnect()
        }
      })
      observer.observe(document.body, { childList: true, subtree: true, attributes: true })
    },
    { selector, key },
  )
  return () => page.evaluate((key) => (window as unknown as Record<string, unknown>)[key] === true, key)
}
