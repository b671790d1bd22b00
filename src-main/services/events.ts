/** Main-side event bus: services emit contract events, each host forwards them on its wire. */
import { validateEvent } from '../../src-shared/contract/validate.js'
import type { EventName, EventPayload } from '../../src-shared/contract/services.js'

export type EventSink = (event: string, payload: unknown) => void

export class EventBus {
  private sinks = new Set<EventSink>()

  /** Validated here so a malformed event is a bug in main, never a surprise in the renderer. */
  emit<E extends EventName>(event: E, payload: EventPayload<E>): void {
    const checked = validateEvent(event, payload)
    for (const s of this.sinks) {
      try {
        s(event, checked)
      } catch (e) {
        console.error(`SCN: an event listener failed on ${event}: ${(e as Error).message}`)
      }
    }
  }

  subscribe(sink: EventSink): () => void {
    this.sinks.add(sink)
    return () => {
      this.sinks.delete(sink)
    }
  }
}
