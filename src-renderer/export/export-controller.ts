/**
 * The export domain: the open volume's labels written in a training format on the host. Owns
 * exportStore. The host exports what it has, so pending edits are saved first; an existing target
 * is replaced only once the user confirms.
 */
import { ExportExists, PlainError, type ExportFormat, type ExportOptions, type LoadedCase, type ScnClient } from '../api/types.js'
import { plainMessage } from '../app/messages.js'
import { exportStore } from '../store/export-store.js'
import { saveStore } from '../store/save-store.js'

const EXTENSIONS: Record<ExportFormat, string> = { nifti: '-labels.nii.gz', nnunet: '-nnunet', 'dicom-seg': '-seg.dcm', 'seg-nrrd': '.seg.nrrd' }

/** What the export panel says after an export refused for a failing autosave, once saving works again. */
const EXPORT_AFTER_SAVE_RECOVERED = 'The export did not run while autosave was failing. Your edits are saved now: export again.'

export class ExportController {
  /** the export error on screen is "autosave is failing": outdated once a save succeeds */
  private refusedForSave = false

  constructor(
    private readonly client: ScnClient,
    /** autosave: true when the host has every edit */
    private readonly saveNow: () => Promise<boolean>,
    private readonly current: () => LoadedCase | null,
  ) {
    saveStore.subscribe((s) => {
      if (!this.refusedForSave || s.save !== 'saved' || s.saveError || s.hostSaveError) return
      this.refusedForSave = false
      if (exportStore.getState().exportError) exportStore.setState({ exportError: EXPORT_AFTER_SAVE_RECOVERED })
    })
  }

  /** Another volume is open: the last export's outcome (and a pending replace question) was about the one before. */
  opened(): void {
    this.refusedForSave = false
    exportStore.setState({ exported: null, exportError: null, exportConfirm: null })
  }

  /** Default export target: <workspace>/exports/<case name>-<format><extension>. */
  async suggestPath(format: ExportFormat): Promise<string> {
    const dir = await this.client.workspaceDir().catch(() => null)
    const base = (this.current()?.name ?? 'labels').replace(/\.(nii\.gz|nii|nrrd|mha|dcm)$/i, '').replace(/[^A-Za-z0-9_.-]+/g, '_')
    return `${dir ?? '.'}/exports/${base}${EXTENSIONS[format]}`
  }

  async run(format: ExportFormat, outPath: string, opts: ExportOptions = {}): Promise<void> {
    const c = this.current()
    if (!c) return
    const newStudy = format === 'dicom-seg' && !!opts.newStudy
    exportStore.setState({ exporting: true, exportError: null, exported: null, exportConfirm: null })
    this.refusedForSave = false
    try {
      // never export without the latest edits
      if (!(await this.saveNow())) {
        this.refusedForSave = true
        throw new PlainError(`The export would miss your latest edits, which could not be saved: ${saveStore.getState().saveError ?? 'autosave failed'}`)
      }
      const files = await this.client.exportLabels(c.caseId, format, outPath, { newStudy, overwrite: !!opts.overwrite })
      exportStore.setState({ exported: { files }, exporting: false })
    } catch (e) {
      if (e instanceof ExportExists) return exportStore.setState({ exporting: false, exportConfirm: { format, outPath, newStudy } })
      exportStore.setState({ exportError: plainMessage(e, 'The export failed'), exporting: false })
    }
  }

  /** The user's answer to "the export target exists": replace it, or keep it (nothing is written). */
  async answerConfirm(replace: boolean): Promise<void> {
    const q = exportStore.getState().exportConfirm
    if (!q) return
    exportStore.setState({ exportConfirm: null })
    if (replace) await this.run(q.format, q.outPath, { newStudy: q.newStudy, overwrite: true })
  }

  clearConfirm(): void {
    exportStore.setState({ exportConfirm: null })
  }
}
