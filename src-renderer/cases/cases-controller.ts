/**
 * The cases and review domain: the workspace's case list, keeping the open volume as a case, case
 * status, and the radiologist's per-organ approve / flag of the open case. Owns casesStore. Every
 * action first saves pending edits: the host judges what the user sees.
 */
import type { CaseStatus, LoadedCase, ReviewAction, ScnClient } from '../api/types.js'
import { plainMessage } from '../app/messages.js'
import { casesStore, saveReviewer } from '../store/cases-store.js'
import { saveStore } from '../store/save-store.js'

/** Why the host cannot write the open workspace case's edits to disk, if it says so. */
export function openCaseSaveError(): string | undefined {
  const { cases, openCaseId } = casesStore.getState()
  return openCaseId ? cases.find((c) => c.caseId === openCaseId)?.saveError : undefined
}

export class CasesController {
  /**
   * Case actions (keep as case, status changes) may overlap; only the latest one's outcome is shown,
   * so a slow earlier success cannot wipe the refusal of a later change off the screen.
   */
  private latestAction = 0

  constructor(
    private readonly client: ScnClient,
    /** autosave: true when the host has every edit */
    private readonly saveNow: () => Promise<boolean>,
    private readonly current: () => LoadedCase | null,
  ) {}

  opened(c: LoadedCase): void {
    casesStore.setState({ openCaseId: c.workspaceCaseId ?? null, openCase: null, reviewPrompt: null, reviewError: null, error: null })
    rememberOpenCase(c.workspaceCaseId ?? null)
    if (this.client.kind !== 'demo') void this.refreshCases()
    void this.refreshOpenCase()
  }

  async refreshCases(): Promise<void> {
    // list errors are kept apart from action errors: a refresh that lands after a refused status
    // change (they overlap on a fast host) must not wipe the refusal off the screen
    try {
      casesStore.setState({ cases: await this.client.listCases(), listError: null })
    } catch (e) {
      casesStore.setState({ listError: plainMessage(e, 'The case list could not be read') })
    }
  }

  /**
   * After a save: an edit can withdraw an approval (the host resets an edited organ to pending) and
   * move a 'todo' case to 'in-progress'. The case first, then the list: cases.get is where the host
   * settles pending edits, so a list read before it could show the old status next to the new one.
   */
  async afterSave(): Promise<void> {
    if (!casesStore.getState().openCaseId) return
    await this.refreshOpenCase()
    await this.refreshCases()
  }

  /** The host's side of a save problem shows in the list (a case's saveError). */
  hostStateChanged(byHost: boolean): void {
    if (byHost || casesStore.getState().openCaseId) void this.refreshCases()
  }

  /** Keeps the open volume as a workspace case; its labels autosave into the case from now on. */
  async saveAsCase(name?: string): Promise<void> {
    const c = this.current()
    if (!c) return
    const action = ++this.latestAction
    try {
      await this.saveNow() // the case starts from what the user sees
      const s = await this.client.createCase(c.caseId, name)
      casesStore.setState({ openCaseId: s.caseId })
      rememberOpenCase(s.caseId)
      if (action === this.latestAction) casesStore.setState({ error: null })
      await this.refreshOpenCase()
      await this.refreshCases()
    } catch (e) {
      if (action === this.latestAction) casesStore.setState({ error: plainMessage(e, 'The case could not be created') })
    }
  }

  async setCaseStatus(caseId: string, status: CaseStatus): Promise<void> {
    const action = ++this.latestAction
    try {
      await this.saveNow()
      await this.client.setCaseStatus(caseId, status)
      if (action === this.latestAction) casesStore.setState({ error: null })
      await this.refreshCases()
    } catch (e) {
      if (action === this.latestAction) casesStore.setState({ error: plainMessage(e, 'The status could not be changed') })
    }
  }

  /** The open case's per-organ review as the host has it (after the host saved pending edits). */
  async refreshOpenCase(): Promise<void> {
    const id = casesStore.getState().openCaseId
    if (!id || this.client.kind === 'demo') {
      casesStore.setState({ openCase: null })
      return
    }
    try {
      const s = await this.client.getCase(id)
      if (casesStore.getState().openCaseId === id) casesStore.setState({ openCase: s })
    } catch (e) {
      // the host answers cases.get after writing pending edits: when that write fails, the
      // autosave banner says so already (from the list), not the review panel
      await this.refreshCases()
      if (!openCaseSaveError() && !saveStore.getState().hostSaveError) casesStore.setState({ reviewError: plainMessage(e, 'The review state could not be read') })
    }
  }

  /** Approve or flag an organ. Asks for the reviewer's name the first time, and for a comment to flag. */
  async review(value: number, action: ReviewAction): Promise<void> {
    const reviewer = casesStore.getState().reviewer
    if (!reviewer) return casesStore.setState({ reviewPrompt: { kind: 'name', value, action }, reviewError: null })
    if (action === 'flag') return casesStore.setState({ reviewPrompt: { kind: 'comment', value }, reviewError: null })
    await this.sendReview(value, action, reviewer)
  }

  /** The user's answer to the open prompt; null cancels it. */
  async answerReviewPrompt(text: string | null): Promise<void> {
    const p = casesStore.getState().reviewPrompt
    if (!p) return
    if (text === null) return casesStore.setState({ reviewPrompt: null, reviewError: null })
    if (!text.trim()) {
      return casesStore.setState({ reviewError: p.kind === 'name' ? 'Type your name: it is recorded with every review.' : 'Say what is wrong with this organ: a flag needs a comment.' })
    }
    casesStore.setState({ reviewPrompt: null, reviewError: null })
    if (p.kind === 'name') {
      saveReviewer(text)
      if (p.value !== undefined && p.action) await this.review(p.value, p.action)
      return
    }
    await this.sendReview(p.value, 'flag', casesStore.getState().reviewer!, text.trim())
  }

  /** Forget the remembered reviewer name; the next review asks again. */
  changeReviewer(): void {
    casesStore.setState({ reviewPrompt: { kind: 'name' }, reviewError: null })
  }

  private async sendReview(value: number, action: ReviewAction, reviewer: string, comment?: string): Promise<void> {
    const id = casesStore.getState().openCaseId
    if (!id) return
    casesStore.setState({ reviewBusy: value })
    try {
      await this.saveNow() // the reviewer judges what is on screen: the host gets it first
      const s = await this.client.reviewOrgan(id, value, action, reviewer, comment)
      casesStore.setState({ openCase: s, reviewError: null })
      await this.refreshCases()
    } catch (e) {
      casesStore.setState({ reviewError: plainMessage(e, 'The review could not be saved') })
    } finally {
      casesStore.setState({ reviewBusy: null })
    }
  }
}

/**
 * The open case goes into the address bar (#case=<id>), so a reload (or a bookmark) reopens it
 * instead of an empty page; a volume that is not a case clears it. replaceState: no history entry
 * per case.
 */
export function rememberOpenCase(caseId: string | null, win: Pick<Window, 'location' | 'history'> | undefined = globalThis.window): void {
  if (!win?.history) return
  const url = new URL(win.location.href)
  const hash = caseId ? `#case=${encodeURIComponent(caseId)}` : ''
  if (url.hash === hash) return
  win.history.replaceState(win.history.state, '', url.pathname + url.search + hash)
}

/** The case the address bar names (#case=<id>), if any. */
export function caseInAddressBar(location: { hash: string }): string | null {
  const m = /^#case=([^&]+)$/.exec(location.hash)
  return m ? decodeURIComponent(m[1]!) : null
}
