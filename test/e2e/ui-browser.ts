/**
 * Chromium for the UI tests: Debian's /usr/bin/chromium with software WebGL (DESIGN §4 flags).
 * Screenshots go to test-results/ui/ (ignored by git; CI keeps them as artifacts).
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--use-angle=swiftshader',
  '--enable-unsafe-swiftshader',
  '--ignore-gpu-blocklist',
]

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
export const SCREENSHOT_DIR = join(process.cwd(), 'test-results', 'ui')

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS })
}

/** Collects page errors so a test can assert the page stayed healthy. */
export async function openPage(browser: Browser, url: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } })
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().includes('Failed to load resource')) errors.push(m.text())
  })
  await page.goto(url)
  return { page, errors }
}

export async function waitReady(page: Page, timeout = 120_000): Promise<void> {
  await page.waitForFunction(
    () => {
      const s = document.querySelector('[data-testid=load-state]')?.getAttribute('data-state')
      if (s === 'error') throw new Error(document.querySelector('[data-testid=error]')?.textContent ?? 'load failed')
      return s === 'ready'
    },
    null,
    { timeout, polling: 200 },
  )
  // the first software-WebGL frame takes seconds: wait until every view has rendered once
  await page.waitForFunction(() => (window.__scn?.ws ? true : false), null, { timeout })
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true })
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`) })
}

/** Stats version as shown by the panel; tests wait for it to move after an edit. */
export async function statsVersion(page: Page): Promise<number> {
  return Number(await page.getAttribute('[data-testid=stats-version]', 'data-version'))
}
