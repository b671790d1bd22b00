/** CT window presets (width/level in HU). */
export interface WindowPreset {
  name: string
  width: number
  center: number
}

export const WINDOW_PRESETS = {
  abdomen: { name: 'abdomen', width: 400, center: 40 },
  liver: { name: 'liver', width: 150, center: 90 },
  bone: { name: 'bone', width: 1800, center: 400 },
  lung: { name: 'lung', width: 1500, center: -600 },
} as const satisfies Record<string, WindowPreset>

export type PresetName = keyof typeof WINDOW_PRESETS

export function voiRange(width: number, center: number): { lower: number; upper: number } {
  return { lower: center - width / 2, upper: center + width / 2 }
}

export function windowFromRange(lower: number, upper: number): { width: number; center: number } {
  return { width: upper - lower, center: (upper + lower) / 2 }
}
