/** One-time Cornerstone3D initialisation (core + tools), shared by every case the app opens. */
import { init as coreInit } from '@cornerstonejs/core'
import { init as toolsInit, addTool, CrosshairsTool, PanTool, ZoomTool, WindowLevelTool, StackScrollTool, TrackballRotateTool } from '@cornerstonejs/tools'

let ready: Promise<void> | null = null

export function initCornerstone(): Promise<void> {
  ready ??= (async () => {
    await coreInit()
    toolsInit()
    // every tool a tool group uses must be added here first (the 3D view's rotate was silently missing)
    for (const t of [CrosshairsTool, PanTool, ZoomTool, WindowLevelTool, StackScrollTool, TrackballRotateTool]) addTool(t)
  })()
  return ready
}
