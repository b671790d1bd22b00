/**
 * The 3D view's drag (src-renderer/viewer/orbit-3d.ts): the turntable keeps the camera on its
 * sphere around the focal point, turns by the drag's length, and the scene follows the pointer.
 */
import { describe, expect, it } from 'vitest'
import { orbitCamera, rotateAbout, ORBIT_DEGREES_PER_PIXEL, type OrbitCamera } from '../../src-renderer/viewer/orbit-3d.js'
import type { Vec3 } from '../../src-shared/volume.js'

const dot = (a: Vec3, b: Vec3) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
const len = (a: Vec3) => Math.sqrt(dot(a, a))
const sub = (a: Vec3, b: Vec3): Vec3 => [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
const angleDeg = (a: Vec3, b: Vec3) => (Math.acos(Math.max(-1, Math.min(1, dot(a, b) / (len(a) * len(b))))) * 180) / Math.PI

// the app's start: seen from the front (LPS: the camera at -P, i.e. anterior), head (+S) up
const FRONT: OrbitCamera = { position: [10, -500, 30], focalPoint: [10, 0, 30], viewUp: [0, 0, 1] }

describe('3D view orbit', () => {
  it('rotateAbout turns a vector by the angle about the axis and keeps its length', () => {
    const r = rotateAbout([1, 0, 0], [0, 0, 1], Math.PI / 2)
    expect(r[0]).toBeCloseTo(0, 12)
    expect(r[1]).toBeCloseTo(1, 12)
    expect(r[2]).toBeCloseTo(0, 12)
  })

  it('a horizontal drag turns about the up axis by 0.5 degree per pixel; distance and up are kept', () => {
    const c = orbitCamera(FRONT, 180, 0)
    expect(len(sub(c.position, c.focalPoint))).toBeCloseTo(500, 9)
    expect(c.focalPoint).toEqual(FRONT.focalPoint)
    expect(angleDeg(sub(c.position, c.focalPoint), sub(FRONT.position, FRONT.focalPoint))).toBeCloseTo(180 * ORBIT_DEGREES_PER_PIXEL, 9)
    expect(c.viewUp[2]).toBeCloseTo(1, 12)
    // dragging right turns the scene right: the camera, seen from the front, goes to the viewer's
    // left, which on a front view is the patient's right (LPS -x)
    expect(c.position[0]).toBeLessThan(FRONT.position[0] - 400)
  })

  it('a vertical drag tilts about the screen horizontal; up stays perpendicular to the view', () => {
    const c = orbitCamera(FRONT, 0, 60)
    const offset = sub(c.position, c.focalPoint)
    expect(len(offset)).toBeCloseTo(500, 9)
    expect(angleDeg(offset, sub(FRONT.position, FRONT.focalPoint))).toBeCloseTo(30, 9)
    expect(dot(c.viewUp, offset)).toBeCloseTo(0, 9)
    expect(len(c.viewUp)).toBeCloseTo(1, 12)
    // dragging down brings the top of the scene toward the viewer: the camera rises (+S)
    expect(c.position[2]).toBeGreaterThan(FRONT.position[2] + 200)
  })

  it('a drag and its reverse bring the camera back', () => {
    const there = orbitCamera(orbitCamera(FRONT, 37, 0), 0, -23)
    const back = orbitCamera(orbitCamera(there, 0, 23), -37, 0)
    for (let i = 0; i < 3; i++) {
      expect(back.position[i]).toBeCloseTo(FRONT.position[i]!, 6)
      expect(back.viewUp[i]).toBeCloseTo(FRONT.viewUp[i]!, 9)
    }
  })
})
