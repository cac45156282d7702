/**
 * The calls waiting on tickets in line (DESIGN §7.2): at most one per ticket, each with a
 * deadline timer, and the aliases of calls that came back to a ticket their request already had.
 * In memory only: a call ends with the object, and its ticket (stored) outlives it. Used by the
 * engine; no I/O (timers come from the host).
 */

import type { AcquireOutcome } from "./outcomes";

interface Attachment {
  resolve(outcome: AcquireOutcome): void;
  timer: unknown;
}

export class Attachments {
  readonly #attached = new Map<string, Attachment>();
  /** The ticket id of a call that came back to its request's ticket → that ticket's id. */
  readonly #aliases = new Map<string, string>();
  readonly #setTimer: (callback: () => void, ms: number) => unknown;
  readonly #clearTimer: (handle: unknown) => void;

  constructor(timers: { setTimer(callback: () => void, ms: number): unknown; clearTimer(handle: unknown): void }) {
    this.#setTimer = (callback, ms) => timers.setTimer(callback, ms);
    this.#clearTimer = (handle) => timers.clearTimer(handle);
  }

  /**
   * Attaches a call to ticket `id` until `waitMs` have passed (then `onOver`); a call attached
   * before is told to let go. `alias` is the call's own ticket id when it came back to `id`.
   */
  wait(id: string, waitMs: number, onOver: () => void, alias?: string): Promise<AcquireOutcome> {
    this.letGo(id)?.resolve({ status: "locked", retryAfterSeconds: 0 });
    if (alias !== undefined && alias !== id) {
      this.#aliases.set(alias, id);
    }
    return new Promise<AcquireOutcome>((resolve) => {
      this.#attached.set(id, { resolve, timer: this.#setTimer(onOver, waitMs) });
    });
  }

  /** Detaches the call waiting on ticket `id`, if any, and returns it for the caller to answer. */
  letGo(id: string): Pick<Attachment, "resolve"> | undefined {
    for (const [alias, target] of this.#aliases) {
      if (target === id) {
        this.#aliases.delete(alias);
      }
    }
    const attachment = this.#attached.get(id);
    if (attachment) {
      this.#attached.delete(id);
      this.#clearTimer(attachment.timer);
    }
    return attachment;
  }

  /** The ticket a coordinator's ticket id stands for here (itself, unless it came back to another). */
  resolve(ticket: string): string {
    return this.#aliases.get(ticket) ?? ticket;
  }
}
