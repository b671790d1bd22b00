/**
 * The contract's channel names as a plain list, with no zod import: the sandboxed Electron preload
 * bundles this (and nothing else from the contract) to check every channel before it reaches IPC.
 * services.ts checks at compile time that this list and the CONTRACT table name the same channels.
 */
export const CHANNEL_NAMES = [
  'app.info',
  'files.showOpenDialog',
  'files.showSaveDialog',
  'volumes.open',
  'volumes.list',
  'volumes.close',
  'volumes.getVoxels',
  'labels.get',
  'labels.put',
  'labels.patch',
  'segmentation.run',
  'segmentation.cancel',
  'statistics.compute',
  'models.list',
  'cases.list',
  'cases.create',
  'cases.open',
  'cases.get',
  'cases.setStatus',
  'cases.review',
  'labelTable.get',
  'labelTable.add',
  'labelTable.update',
  'labelTable.retire',
  'export.run',
  'export.workspace',
  'pacs.servers',
  'pacs.search',
  'pacs.series',
  'pacs.retrieve',
  'pacs.cancel',
  'pacs.sendSeg',
  'pacs.cached',
  'pacs.openCached',
] as const

export const EVENT_NAMES = ['segmentation.onProgress', 'segmentation.onFinished', 'app.onOpenRequest', 'cases.onSaveStatus', 'pacs.onRetrieveProgress', 'labelTable.onChanged'] as const
