/** One-time Cornerstone3D initialisation (core + tools), shared by every case the app opens. */
import { init as coreInit } from '@cornerstonejs/core'
import { init as toolsInit, addTool, CrosshairsTool, PanTool, ZoomTool, WindowLevelTool, StackScrollTool } from '@cornerstonejs/tools'

let ready: Promise<void> | null = null

export function initCornerstone(): Promise<void> {
  ready ??= (async () => {
    await coreInit()
    toolsInit()
    // the 3D view turns with orbit-3d.ts, not TrackballRotateTool (see there why)
    for (const t of [CrosshairsTool, PanTool, ZoomTool, WindowLevelTool, StackScrollTool]) addTool(t)
  })()
  return ready
}
