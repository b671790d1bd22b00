/**
 * Runs the renderer with no host at all (open index.html?demo): the phantom is generated in the
 * page with the project's own generator, and "Segment" returns the phantom's truth as the
 * prediction: a recording of the answer, labelled as such, with no model, no staged progress and
 * no made-up timing. For UI development, the editing benchmark and UI tests that must run before
 * (or without) a host; never presented as a model.
 */
import { generatePhantom } from '../../src-shared/phantom.js'
import { FLARE_LABELS } from '../../src-shared/labels.js'
import type { CaseSummary, LoadedCase, ScnClient, SegmentProgress, SegmentResult, Vec3 } from './types.js'
import { PlainError } from './types.js'

export class DemoClient implements ScnClient {
  readonly kind = 'demo' as const
  private truth = new Map<string, Uint8Array>()
  private n = 0

  async describe(): Promise<string> {
    return 'demo mode: no host, phantom generated in the page, "prediction" = phantom truth'
  }

  async listCases(): Promise<CaseSummary[]> {
    return []
  }

  async createCase(): Promise<CaseSummary> {
    throw new PlainError('Demo mode has no workspace: start the app with "npm run serve" to keep cases.')
  }

  async setCaseStatus(): Promise<CaseSummary> {
    throw new PlainError('Demo mode has no workspace.')
  }

  async getCase(): Promise<CaseSummary> {
    throw new PlainError('Demo mode has no workspace.')
  }

  async reviewOrgan(): Promise<CaseSummary> {
    throw new PlainError('Demo mode has no workspace: review needs a case kept in a workspace ("npm run serve").')
  }

  async launchPath(): Promise<string | null> {
    return null
  }

  async openPath(path: string): Promise<LoadedCase> {
    throw new PlainError(`Files cannot be opened in demo mode (asked for ${path}): start the app with "npm run serve -- <file>".`)
  }

  async saveLabels(): Promise<void> {}

  async listModels(): Promise<{ models: { id: string; description: string }[]; problems: string[] }> {
    return { models: [{ id: 'phantom-truth', description: 'demo: the phantom truth, no model' }], problems: [] }
  }

  async exportLabels(): Promise<string[]> {
    throw new PlainError('Demo mode cannot write files: start the app with "npm run serve" to export.')
  }

  async workspaceDir(): Promise<string | null> {
    return null
  }

  async close(caseId: string): Promise<void> {
    this.truth.delete(caseId)
  }

  async openCase(caseId: string): Promise<LoadedCase> {
    throw new PlainError(`Case "${caseId}" is not available in demo mode: open a phantom instead.`)
  }

  async openPhantom(opts: { dims?: Vec3; spacing?: Vec3 } = {}): Promise<LoadedCase> {
    const dims = opts.dims ?? [128, 128, 96]
    const spacing = opts.spacing ?? [3, 3, 3]
    const { ct, labels } = generatePhantom({ dims, spacing, seed: 7 })
    const caseId = `phantom-${++this.n}`
    this.truth.set(caseId, labels.data)
    return {
      caseId,
      name: `Phantom ${dims.join('x')}`,
      geometry: { dims, spacing, origin: ct.origin, direction: ct.direction },
      ct: ct.data,
      labelClasses: FLARE_LABELS,
    }
  }

  /**
   * No model runs in demo mode. "Segment" hands back the phantom's own truth, recorded when the
   * phantom was made, as the prediction: one progress report that says so, the real (near zero)
   * time it took, and a warning the page shows beside the result.
   */
  async segment(caseId: string, onProgress: (p: SegmentProgress) => void, signal: AbortSignal): Promise<SegmentResult> {
    const truth = this.truth.get(caseId)
    if (!truth) throw new PlainError('There is no open case to segment.')
    if (signal.aborted) throw new DOMException('Segmentation cancelled', 'AbortError')
    const t0 = performance.now()
    onProgress({ fraction: 1, stage: 'demo: the phantom truth (no model runs)' })
    return {
      labels: truth.slice(),
      model: 'phantom truth (demo mode, no model)',
      seconds: (performance.now() - t0) / 1000,
      warnings: ['Demo mode: these labels are the phantom\'s own truth, recorded when it was made; no model ran.'],
    }
  }
}
