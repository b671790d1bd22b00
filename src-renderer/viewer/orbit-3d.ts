/**
 * Drag to turn the 3D view. Our own small strategy instead of Cornerstone's TrackballRotateTool:
 * with that tool registered, a double-click on the 3D pane (which enlarges it) left the page
 * unresponsive in Chromium/SwiftShader. The tool resets the camera and renders from a
 * ResizeObserver of its own and changes the ray-caster's sample distance on every mouse-down; here a
 * drag only moves the camera, and renders are coalesced to one per animation frame, so a slow
 * software renderer is never handed a queue of frames.
 *
 * The motion is a turntable: a horizontal drag turns the scene about the screen's vertical axis, a
 * vertical drag tilts it about the screen's horizontal axis, both through the focal point (the
 * middle of the labels after a reset). The camera's distance to the focal point never changes.
 */
import type { Vec3 } from '../../src-shared/volume.js'
import { cross } from '../../src-shared/geometry.js'

export interface OrbitCamera {
  position: Vec3
  focalPoint: Vec3
  viewUp: Vec3
}

/** degrees per CSS pixel of drag: a drag across a 360 px pane turns the labels half around */
export const ORBIT_DEGREES_PER_PIXEL = 0.5

const sub = (a: Vec3, b: Vec3): Vec3 => [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
const add = (a: Vec3, b: Vec3): Vec3 => [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
const norm = (a: Vec3): Vec3 => {
  const l = Math.hypot(a[0], a[1], a[2]) || 1
  return [a[0] / l, a[1] / l, a[2] / l]
}

/** `v` rotated by `angle` radians about the unit axis `k` (Rodrigues). */
export function rotateAbout(v: Vec3, k: Vec3, angle: number): Vec3 {
  const c = Math.cos(angle)
  const s = Math.sin(angle)
  const kxv = cross(k, v)
  const kdv = k[0] * v[0] + k[1] * v[1] + k[2] * v[2]
  return [0, 1, 2].map((i) => v[i]! * c + kxv[i]! * s + k[i]! * kdv * (1 - c)) as Vec3
}

/**
 * The camera after a drag of (dx, dy) CSS pixels (right and down positive): the scene follows the
 * pointer, as when turning an object by hand.
 */
export function orbitCamera(cam: OrbitCamera, dx: number, dy: number, degreesPerPixel = ORBIT_DEGREES_PER_PIXEL): OrbitCamera {
  const rad = (degreesPerPixel * Math.PI) / 180
  let up = norm(cam.viewUp)
  // Rodrigues about up moves the camera toward screen right for a positive angle: dragging right
  // turns the scene right when the camera goes left
  let offset = rotateAbout(sub(cam.position, cam.focalPoint), up, -dx * rad)
  // screen right after the turn (direction of projection x up); a positive angle about it moves the
  // camera down, so dragging down (the scene's top toward the viewer) takes the camera up
  const right = norm(cross(norm([-offset[0], -offset[1], -offset[2]]), up))
  offset = rotateAbout(offset, right, -dy * rad)
  up = norm(rotateAbout(up, right, -dy * rad))
  return { position: add(cam.focalPoint, offset), focalPoint: [...cam.focalPoint] as Vec3, viewUp: up }
}

export interface OrbitTarget {
  getCamera(): { position?: Vec3 | number[]; focalPoint?: Vec3 | number[]; viewUp?: Vec3 | number[] }
  setCamera(cam: { position: Vec3; focalPoint: Vec3; viewUp: Vec3 }): void
  render(): void
}

/**
 * Primary-button drags on `element` turn the camera of `target()` (null while no 3D view is set
 * up). A press without movement does nothing, so clicks and double-clicks keep their meaning.
 * Returns the function that detaches the listeners.
 */
export function attachOrbitDrag(element: HTMLElement, target: () => OrbitTarget | null): () => void {
  let last: [number, number] | null = null
  let pending: [number, number] = [0, 0]
  let frame = 0
  const flush = (): void => {
    frame = 0
    const t = target()
    const [dx, dy] = pending
    pending = [0, 0]
    if (!t || (dx === 0 && dy === 0)) return
    const c = t.getCamera()
    if (!c.position || !c.focalPoint || !c.viewUp) return
    t.setCamera(orbitCamera({ position: [...c.position] as Vec3, focalPoint: [...c.focalPoint] as Vec3, viewUp: [...c.viewUp] as Vec3 }, dx, dy))
    t.render()
  }
  const down = (e: PointerEvent): void => {
    if (e.button !== 0) return
    last = [e.clientX, e.clientY]
    element.setPointerCapture?.(e.pointerId)
  }
  const move = (e: PointerEvent): void => {
    if (!last || !(e.buttons & 1)) {
      last = null
      return
    }
    pending = [pending[0] + e.clientX - last[0], pending[1] + e.clientY - last[1]]
    last = [e.clientX, e.clientY]
    frame ||= requestAnimationFrame(flush)
  }
  const up = (e: PointerEvent): void => {
    last = null
    element.releasePointerCapture?.(e.pointerId)
  }
  element.addEventListener('pointerdown', down)
  element.addEventListener('pointermove', move)
  element.addEventListener('pointerup', up)
  element.addEventListener('pointercancel', up)
  return () => {
    if (frame) cancelAnimationFrame(frame)
    element.removeEventListener('pointerdown', down)
    element.removeEventListener('pointermove', move)
    element.removeEventListener('pointerup', up)
    element.removeEventListener('pointercancel', up)
  }
}
