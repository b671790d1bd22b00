/** One-time Cornerstone3D initialisation (core + tools), shared by every case the app opens. */
import { init as coreInit } from '@cornerstonejs/core'
import { init as toolsInit, addTool, CrosshairsTool, PanTool, ZoomTool, WindowLevelTool, StackScrollTool } from '@cornerstonejs/tools'

let ready: Promise<void> | null = null

export function initCornerstone(): Promise<void> {
  ready ??= (async () => {
    await coreInit()
    toolsInit()
    // TrackballRotateTool (the 3D view's drag) is not added: with it registered, a double-click on the
    // 3D pane left the page unresponsive in Chromium/SwiftShader (the browser tests time out); until
    // that is understood the 3D view turns with its reset button and zooms with the wheel only
    for (const t of [CrosshairsTool, PanTool, ZoomTool, WindowLevelTool, StackScrollTool]) addTool(t)
  })()
  return ready
}
