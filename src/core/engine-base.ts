/**
 * The frame every operation of a limit engine runs in (see `./engine`): the state, the host, the
 * calls attached to tickets in line; `begin` (read the clock once, expire what is due) and
 * `finish` (serve the line, set the decay timer, persist). Pure: the host does the I/O.
 */

import { headFitsAt } from "./admission";
import { Attachments } from "./attachments";
import type { LimitObserver } from "./history";
import { type AcquireOutcome, grantedOutcome } from "./outcomes";
import { dequeue, GRACE_MS, leaveLine, OFFER_MS, readyHead, recoverLine } from "./queue";
import { type LimitConfig, type LimitState, putTicket, type Ticket } from "./state";
import { expire, grantFromLine, TOMBSTONE_MS } from "./tickets";
import { minimalLimit } from "./views";

/** The sockets waiting on tickets, as the host keeps them (they outlive hibernation, not restarts). */
export interface SocketWaits {
  has(ticket: string): boolean;
  /** Pushes a grant offered to the socket of `ticket`, to be confirmed by `confirmUntil`. */
  offer(ticket: string, grant: Extract<AcquireOutcome, { status: "granted" }>, confirmUntil: number): void;
}

export interface EngineHost {
  now(): number;
  random(): number;
  setTimer(callback: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
  /** Persists what `state.dirty` names and keeps the alarm; the end of every operation. */
  save(state: LimitState): Promise<void>;
  /** Learns of what happens here, for history and events (issue 14). */
  observer?: LimitObserver;
  sockets?: SocketWaits;
}

export class EngineBase {
  readonly state: LimitState;
  /** Most requests that may wait in line at once. */
  maxWaiters: number;
  protected readonly host: EngineHost;
  protected readonly calls: Attachments;
  #decayTimer: unknown = null;

  constructor(state: LimitState, host: EngineHost, maxWaiters: number) {
    this.state = state;
    this.host = host;
    this.calls = new Attachments(host);
    this.maxWaiters = maxWaiters;
    recoverLine(state, host.now(), (id) => host.sockets?.has(id) ?? false);
  }

  /** An offer taken by its request: it is one no more. */
  protected deliver(ticket: Ticket): AcquireOutcome {
    const delivered = { ...ticket, offerUntil: null };
    putTicket(this.state, delivered);
    return grantedOutcome(delivered, this.minimal());
  }

  /** Expires what is due and serves the line: the alarm, and the decay timer. */
  async tick(): Promise<void> {
    this.begin();
    await this.finish(undefined);
  }

  /** The start of every operation: reads the clock once and expires what is due. */
  protected begin(): number {
    const now = this.host.now();
    const expired = expire(this.state, now);
    if (expired.length > 0) {
      this.host.observer?.expired(expired.length, now);
    }
    return now;
  }

  protected minimal() {
    return minimalLimit(this.state.config as LimitConfig);
  }

  /**
   * Hands slots to the head of the line while it fits, then sets the decay timer for the moment
   * the next one will. A call without a request id gets its grant; anything else is offered (see
   * the top of this file).
   */
  #serveQueue(): void {
    const state = this.state;
    const now = this.host.now();
    for (let head = readyHead(state, now); head !== null; head = readyHead(state, now)) {
      const { waiter, decision } = head;
      const attachment = this.calls.letGo(waiter.id);
      if (decision.status !== "ok" && decision.status !== "inactive") {
        leaveLine(state, waiter.id, now + TOMBSTONE_MS);
        attachment?.resolve(decision);
        continue;
      }
      const waiting = state.tickets.get(waiter.id);
      const joinedAt = waiting?.acquiredAt ?? now;
      // A reservation needs no offer: it is only held until its request commits it.
      const direct = waiting?.requestId == null || waiting.line?.intent === "reserve";
      const pushed = !attachment && (this.host.sockets?.has(waiter.id) ?? false);
      const offerUntil = attachment || pushed ? now + OFFER_MS : (waiting?.line?.graceUntil ?? now + GRACE_MS);
      dequeue(state, waiter.id);
      const granted = grantFromLine(state, waiter.id, attachment && direct ? null : offerUntil, now);
      if (!granted) {
        continue;
      }
      this.host.observer?.granted(granted.slots, now - joinedAt, granted.id, now);
      const outcome = grantedOutcome(granted, this.minimal());
      if (attachment) {
        // One that can come back confirms by coming back at once; a dead one never does.
        attachment.resolve(direct ? outcome : { status: "locked", retryAfterSeconds: 0 });
      } else if (pushed && outcome.status === "granted") {
        this.host.sockets?.offer(waiter.id, outcome, offerUntil);
      }
    }
    if (this.#decayTimer !== null) {
      this.host.clearTimer(this.#decayTimer);
      this.#decayTimer = null;
    }
    const fitsAt = headFitsAt(state, now);
    if (fitsAt !== null) {
      this.#decayTimer = this.host.setTimer(() => {
        this.#decayTimer = null;
        void this.tick();
      }, fitsAt - now);
    }
  }

  /** Serves the line and persists what changed. Every operation ends here. */
  protected async finish<T>(result: T): Promise<T> {
    this.#serveQueue();
    await this.host.save(this.state);
    return result;
  }
}
