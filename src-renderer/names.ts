/**
 * The view and tool names, defined once: the viewer, the editing tools, the keymap, the Vue
 * components and the test hook (test-api.ts, read by Node-side tests) all use these. No imports, so
 * Node code can import it without pulling in the viewer.
 */
export const VIEW_NAMES = ['axial', 'sagittal', 'coronal'] as const
export type ViewName = (typeof VIEW_NAMES)[number]

export const TOOL_NAMES = ['navigate', 'brush', 'eraser', 'threshold', 'scissors-circle', 'scissors-rectangle', 'scissors-sphere', 'fill', 'grow-from-seeds'] as const
export type ToolName = (typeof TOOL_NAMES)[number]
