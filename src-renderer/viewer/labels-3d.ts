/**
 * The 3D view of the labels: Cornerstone's VOLUME_3D viewport ray-casting the labelmap volume itself
 * (the one the three MPR views overlay, so an edit shows in 3D from the same texture), coloured by a
 * transfer function built from the label rows: each visible label value gets its colour and opacity,
 * every other value (background, hidden labels) is transparent. Nearest-neighbour sampling keeps
 * label values exact (linear interpolation would invent in-between labels at borders); shading gives
 * the depth cue a surface rendering would.
 *
 * Why not surfaces: Cornerstone's surface representation needs its polySEG WASM add-on and a
 * marching-cubes pass per edit; volume rendering updates with the labelmap at no extra cost.
 */
import vtkColorTransferFunction from '@kitware/vtk.js/Rendering/Core/ColorTransferFunction.js'
import vtkPiecewiseFunction from '@kitware/vtk.js/Common/DataModel/PiecewiseFunction.js'
import type { Types } from '@cornerstonejs/core'

export interface Label3dRow {
  value: number
  color: readonly [number, number, number]
  visible: boolean
  /** 0..1, the label's own opacity (the segment list's slider) */
  opacity: number
  /** lesions are drawn nearly opaque, organs see-through: a lesion inside its organ must show */
  isLesion?: boolean
}

/** Opacity per sample of an organ and of a lesion at full label opacity (lesions sit inside organs). */
const ORGAN_OPACITY_3D = 0.07
const LESION_OPACITY_3D = 0.9

/** Colour and opacity transfer functions over label values 0..255 (pinned, so the lookup table spans them all). */
export function labelTransferFunctions(rows: readonly Label3dRow[]): { color: vtkColorTransferFunction; opacity: vtkPiecewiseFunction } {
  const color = vtkColorTransferFunction.newInstance()
  const opacity = vtkPiecewiseFunction.newInstance()
  color.addRGBPoint(0, 0, 0, 0)
  opacity.addPoint(0, 0)
  for (const r of [...rows].sort((a, b) => a.value - b.value)) {
    const a = r.visible ? (r.isLesion ? LESION_OPACITY_3D : ORGAN_OPACITY_3D) * Math.max(0, Math.min(1, r.opacity)) : 0
    const [red, green, blue] = r.color.map((c) => c / 255) as [number, number, number]
    // a plateau of width ~1 around the value: nearest sampling hits the value exactly
    for (const v of [r.value - 0.45, r.value + 0.45]) {
      color.addRGBPoint(v, red, green, blue)
      opacity.addPoint(v, a)
    }
    opacity.addPoint(r.value - 0.55, 0)
    opacity.addPoint(r.value + 0.55, 0)
  }
  color.addRGBPoint(255, 0, 0, 0)
  opacity.addPoint(255, 0)
  return { color, opacity }
}

type VolumeActor = Types.VolumeActor

/** Applies the label colours to the 3D view's volume actor, with nearest sampling and shading. */
export function styleLabelActor(actor: VolumeActor, rows: readonly Label3dRow[], minSpacingMm: number): void {
  const { color, opacity } = labelTransferFunctions(rows)
  const prop = actor.getProperty()
  prop.setRGBTransferFunction(0, color)
  prop.setScalarOpacity(0, opacity)
  prop.setInterpolationTypeToNearest()
  prop.setUseGradientOpacity(0, false)
  prop.setShade(true)
  prop.setAmbient(0.35)
  prop.setDiffuse(0.75)
  prop.setSpecular(0.15)
  // opacity per millimetre of ray, so thin and thick voxels look alike
  prop.setScalarOpacityUnitDistance(0, Math.max(0.5, minSpacingMm))
  // one sample per voxel along the ray: labels are piecewise constant, finer sampling only costs
  // (software WebGL renders a full-window 3D view in seconds at half a voxel)
  const mapper = actor.getMapper() as unknown as { setSampleDistance?: (d: number) => void }
  mapper.setSampleDistance?.(Math.max(0.5, minSpacingMm))
}
