/** Creates the AppShell once App.vue has its view elements; installs keys, window hooks and the test hook. */
import { markRaw } from 'vue'
import { AppShell } from './app/shell.js'
import { testHook } from './app/test-hook.js'
import { shell } from './context.js'
import { saveStore } from './store/save-store.js'
import { caseInAddressBar } from './cases/cases-controller.js'
import type { ViewName } from './viewer/viewer.js'

interface PaneLike {
  view: ViewName
  viewportEl: HTMLDivElement | null
  overlayEl: SVGSVGElement | null
  setOrientation: (l: { top: string; bottom: string; left: string; right: string }) => void
}

export function mountApp(panes: unknown[], viewport3d?: HTMLDivElement): () => void {
  const byView = new Map((panes as PaneLike[]).map((p) => [p.view, p]))
  const get = (v: ViewName): PaneLike => {
    const p = byView.get(v)
    if (!p?.viewportEl || !p.overlayEl) throw new Error(`the ${v} view element is missing`)
    return p
  }
  const app = markRaw(
    new AppShell({
      viewports: { axial: get('axial').viewportEl!, sagittal: get('sagittal').viewportEl!, coronal: get('coronal').viewportEl! },
      overlays: { axial: get('axial').overlayEl!, sagittal: get('sagittal').overlayEl!, coronal: get('coronal').overlayEl! },
      onOrientation: (v, l) => byView.get(v)?.setOrientation(l),
      ...(viewport3d ? { viewport3d } : {}),
    }),
  )
  shell.value = app
  // test builds only (npm run build:test): the hook can apply edits, so production bundles lack it
  if (import.meta.env.SCN_TEST_HOOK) window.__scn = testHook(app)
  window.addEventListener('keydown', app.onKey)
  // unsaved labels: ask before the tab closes (autosave runs 1.5 s after the last edit)
  const guard = (e: BeforeUnloadEvent): void => {
    const s = saveStore.getState().save
    // 'error': the host has not got the edits, only this page holds them
    if (s === 'unsaved' || s === 'saving' || s === 'error') e.preventDefault()
  }
  window.addEventListener('beforeunload', guard)
  const over = (e: DragEvent): void => e.preventDefault()
  const drop = (e: DragEvent): void => {
    e.preventDefault()
    const f = e.dataTransfer?.files[0]
    if (f) void app.viewer.openDropped(f)
  }
  window.addEventListener('dragover', over)
  window.addEventListener('drop', drop)
  // one observer for the three panes: Cornerstone does not notice layout changes by itself
  let pending = 0
  const observer = new ResizeObserver(() => {
    cancelAnimationFrame(pending)
    pending = requestAnimationFrame(() => app.viewer.resize())
  })
  for (const v of ['axial', 'sagittal', 'coronal'] as const) observer.observe(get(v).viewportEl!)
  if (viewport3d) observer.observe(viewport3d)
  const params = new URLSearchParams(window.location.search)
  const dims = params.get('dims')?.split('x').map(Number)
  const spacing = params.get('spacing')?.split('x').map(Number)
  // a reload reopens the case that was open (cases-controller.ts rememberOpenCase); otherwise the
  // demo phantom or the host's launch path, unless ?noauto
  const caseId = app.client.kind === 'demo' ? null : caseInAddressBar(window.location)
  if (caseId) void app.viewer.openCase(caseId)
  else if (!params.has('noauto')) {
    if (app.client.kind === 'demo') void app.viewer.openPhantom(dims as [number, number, number] | undefined, spacing as [number, number, number] | undefined)
    else void app.viewer.openLaunchPath()
  }
  return () => {
    observer.disconnect()
    window.removeEventListener('keydown', app.onKey)
    window.removeEventListener('beforeunload', guard)
    window.removeEventListener('dragover', over)
    window.removeEventListener('drop', drop)
    app.dispose()
  }
}
