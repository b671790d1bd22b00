/**
 * SCN Studio contract: the one typed API between the renderer and the main process.
 *
 * API overview (services, VS Code style: one service per capability, events named onX)
 *   app.info()                                  -> AppInfo (host kind, version, workspace, launchPath, label table)
 *   app.onOpenRequest(path)                     event (Electron): a second launch / 'open with' asks to open a path
 *   files.showOpenDialog({kind:'file'|'folder'})-> {path|null}  (Electron only; web answers 'unsupported')
 *   files.showSaveDialog({kind, defaultPath?})  -> {path|null}  (Electron only; the path becomes writable)
 *   volumes.open({path, seriesUid?})            -> {status:'opened', volume} | {status:'needs-series', series[]}
 *   volumes.list() / volumes.close({volumeId})  close frees the CT and labels, flushes a case's autosave, drops its lock
 *   volumes.getVoxels({volumeId})               -> Frame<VoxelsHeader, 'int16'>  CT once, Int16 HU, x fastest
 *   labels.get({volumeId, kind?})               -> Frame<LabelmapHeader, 'uint8'> kind 'current' | 'prediction'
 *   labels.put({header, data})                  -> {volumeId, version}  (header.version = version edited; else 'stale');
 *                                               for a case volume this is also the autosave (on disk within 2 s)
 *   labels.patch({header, data})                -> {volumeId, version}  only the voxels changed since header.version
 *                                               (label-patch.ts: u32 indices + u8 values), all or nothing, same
 *                                               'stale' rule; autosave after the first full put
 *   segmentation.run({volumeId, modelId?, device?}) -> {runId}
 *   segmentation.cancel({runId})                -> {runId, cancelled}
 *   segmentation.onProgress(p)                  event {runId, volumeId, stage, fraction 0..1, message}
 *   segmentation.onFinished(f)                  event outcome 'done' | 'cancelled' | 'failed'; on 'done' the prediction is
 *                                               ready (labels.get kind 'prediction'); 'current' is NOT changed: the
 *                                               renderer applies the prediction as one undoable edit, then labels.put
 *   statistics.compute({volumeId, kind?})       -> per-organ voxels, mL, mean/std HU, vs prediction (added/removed/Dice), counts
 *   models.list()                               -> models (app + user folders) and unreadable-folder problems
 *   cases.list()                                -> workspace cases with status, review counts, lock holder
 *   cases.create({volumeId, name?})             the open volume becomes a case (its labels then autosave)
 *   cases.open({caseId})                        -> {case, volume}: CT opened, saved labels as 'current'
 *   cases.setStatus({caseId, status, comment?}) / cases.review({caseId, value, action, reviewer, comment?})
 *   labelTable.get()                            -> {version, labels (retired too, isLesion derived), presets}
 *   labelTable.add({name?, color?, preset?})    -> the table + `added` (the new value); name or preset required
 *   labelTable.update({value, name?, color?})   -> the table (rename / recolour; values never change)
 *   labelTable.retire({value})                  -> the table (the value stays reserved, never reused)
 *   labelTable.onChanged(table)                 event: the table changed (any page of this host)
 *   export.run({volumeId, format, outPath, ignoreUnapproved?})  nifti | nnunet | dicom-seg | seg-nrrd
 *   export.workspace({outPath, ignoreUnapproved?, statuses?})   the workspace as one nnU-Net dataset
 *   pacs.servers()                              -> configured DICOMweb servers: name, URL, auth kind (never secrets)
 *   pacs.search({server, patientName?, patientId?, studyDate?, modality?, accessionNumber?}) -> studies (QIDO-RS)
 *   pacs.series({server, studyUid})             -> the study's series with modality, description, instance count
 *   pacs.retrieve({server, studyUid, seriesUid, retrieveId}) -> {path}: a CT series whole in the host's cache,
 *                                               readable: open it with volumes.open; pacs.cancel({retrieveId})
 *   pacs.onRetrieveProgress(p)                  event {retrieveId, received, total, bytes}
 *   pacs.sendSeg({volumeId})                    DICOM SEG of the current labels, STOW-RS to the series' server -> new UIDs
 *   pacs.cached()                               -> the series kept in the host's cache (local files only: works offline)
 *   pacs.openCached({serverKey, studyUid, seriesUid}) -> {path}: a cached series readable without its server
 *
 * Errors: every call rejects with ContractError {code, message}; codes in schemas.ts (ErrorCodeSchema).
 * Binary: voxels never travel as JSON; see frame.ts for the frame layout (JSON header + aligned payload).
 * Wires: wire.ts (web host URLs/headers, Electron IPC channel names, the window.scn ScnBridge type).
 * Renderer: createScnClient(transport) with createHttpTransport (web) or createBridgeTransport(window.scn).
 * Hosts: dispatch(servicesImpl, channel, payload) validates requests and responses identically.
 * Files here use no Node or DOM APIs: the renderer bundles them.
 */
export * from './schemas.js'
export * from './services.js'
export * from './channels.js'
export * from './errors.js'
export * from './frame.js'
export * from './validate.js'
export * from './wire.js'
export * from './client.js'
export * from './label-patch.js'
export { createHttpTransport, type HttpTransport, type HttpTransportOptions } from './transports/http.js'
export { createBridgeTransport } from './transports/electron.js'
