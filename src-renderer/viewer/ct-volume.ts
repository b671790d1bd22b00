/**
 * Builds the Cornerstone CT volume from the bytes the main process sent (no URL, no NIfTI loader:
 * the bytes are already decoded), and the labelmap derived from it.
 *
 * Pitfalls in 5.0.13 handled here (docs/runtime-notes.md):
 * - ids must not contain ':' for createLocalVolume;
 * - createLocalVolume gives every slice the volume origin; brushes, statistics and crosshairs need
 *   the real per-slice position, so each slice's image-plane metadata is rewritten.
 */
import { cache, utilities, volumeLoader, type Types } from '@cornerstonejs/core'
import type { GridGeometry } from '../api/types.js'
import { axisDirection, cornerstoneDirection, sliceOrigin } from '../../src-shared/geometry.js'

let serial = 0

export interface CsVolumes {
  ctVolumeId: string
  labelVolumeId: string
  ct: Types.IImageVolume
  labels: Types.IImageVolume
  /** the labelmap's per-slice arrays, in k order (what the tools write to) */
  labelSlices: Uint8Array[]
}

export function createCaseVolumes(g: GridGeometry, ct: Int16Array | Float32Array): CsVolumes {
  serial++
  const ctVolumeId = `scnCt${serial}`
  const labelVolumeId = `scnLabels${serial}`
  const frameOfReferenceUID = `1.2.826.0.1.3680043.10.1442.${Date.now()}.${serial}`
  const direction = cornerstoneDirection(g)
  const [lo, hi] = minMax(ct)
  const volume = volumeLoader.createLocalVolume(ctVolumeId, {
    scalarData: ct,
    dimensions: g.dims,
    spacing: g.spacing,
    origin: g.origin,
    direction: direction as Types.Mat3,
    metadata: {
      BitsAllocated: ct instanceof Int16Array ? 16 : 32,
      BitsStored: ct instanceof Int16Array ? 16 : 32,
      SamplesPerPixel: 1,
      HighBit: ct instanceof Int16Array ? 15 : 31,
      PhotometricInterpretation: 'MONOCHROME2',
      PixelRepresentation: 1,
      Modality: 'CT',
      FrameOfReferenceUID: frameOfReferenceUID,
      ImageOrientationPatient: direction.slice(0, 6),
      PixelSpacing: [g.spacing[1], g.spacing[0]],
      Columns: g.dims[0],
      Rows: g.dims[1],
      voiLut: [{ windowWidth: 400, windowCenter: 40 }],
      VOILUTFunction: 'LINEAR',
    } as unknown as Types.Metadata,
  })
  const iop = [...axisDirection(g, 0), ...axisDirection(g, 1)]
  volume.imageIds.forEach((imageId, k) => {
    const ipp = sliceOrigin(g, k)
    utilities.genericMetadataProvider.add(imageId, {
      type: 'imagePlaneModule',
      metadata: {
        frameOfReferenceUID,
        rows: g.dims[1],
        columns: g.dims[0],
        imageOrientationPatient: iop,
        rowCosines: iop.slice(0, 3),
        columnCosines: iop.slice(3, 6),
        imagePositionPatient: ipp,
        sliceThickness: g.spacing[2],
        sliceLocation: ipp[2],
        pixelSpacing: [g.spacing[1], g.spacing[0]],
        rowPixelSpacing: g.spacing[1],
        columnPixelSpacing: g.spacing[0],
      },
    })
    utilities.genericMetadataProvider.add(imageId, { type: 'generalSeriesModule', metadata: { modality: 'CT', seriesInstanceUID: `${frameOfReferenceUID}.1` } })
    utilities.genericMetadataProvider.add(imageId, { type: 'modalityLutModule', metadata: { rescaleSlope: 1, rescaleIntercept: 0 } })
    utilities.genericMetadataProvider.add(imageId, { type: 'voiLutModule', metadata: { windowWidth: [400], windowCenter: [40] } })
  })
  // the volume's own range, so the default VOI and the W/L tool know the data span
  ;(volume as unknown as { metadata: Record<string, unknown> }).metadata.minMax = [lo, hi]

  const labels = volumeLoader.createAndCacheDerivedLabelmapVolume(ctVolumeId, { volumeId: labelVolumeId })
  const labelSlices = labels.imageIds.map((id, k) => {
    const img = cache.getImage(id)
    if (!img) throw new Error(`labelmap slice ${k} is missing from the cache`)
    const data = img.voxelManager?.getScalarData() as Uint8Array
    if (!(data instanceof Uint8Array) || data.length !== g.dims[0] * g.dims[1]) throw new Error(`labelmap slice ${k} is not a ${g.dims[0]}x${g.dims[1]} Uint8Array`)
    return data
  })
  return { ctVolumeId, labelVolumeId, ct: volume, labels, labelSlices }
}

export function removeCaseVolumes(v: CsVolumes): void {
  for (const id of [v.labelVolumeId, v.ctVolumeId]) {
    try {
      cache.removeVolumeLoadObject(id)
    } catch {
      /* already gone */
    }
  }
}

function minMax(a: ArrayLike<number>): [number, number] {
  let lo = Infinity, hi = -Infinity
  for (let x = 0; x < a.length; x++) {
    const v = a[x]!
    if (v < lo) lo = v
    if (v > hi) hi = v
  }
  return [lo, hi]
}
