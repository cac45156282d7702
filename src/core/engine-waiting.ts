/**
 * How requests arrive at a limit engine and wait in its line (see `./engine`): admission at once,
 * joining the durable line, coming back to a place or an offer, sockets, the two phases of a
 * multi-name request, and the ways a request leaves (withdrawn, left, cancelled). Pure.
 */

import { checkAdmission, refuse } from "./admission";
import { EngineBase } from "./engine-base";
import { callTaken, ticketRequest, ticketToComeBackTo, withdrawnKey } from "./identity";
import {
  type AcquireCall,
  type AcquireOutcome,
  type CheckOutcome,
  type CommitOutcome,
  grantedOutcome,
} from "./outcomes";
import { attach, detach, GRACE_MS, joinLine, leaveLine } from "./queue";
import { deleteTombstone, moveTicket, putTicket, putTombstone, type Ticket } from "./state";
import {
  commitReservation,
  grant,
  PENDING_MARGIN_MS,
  reserve,
  TOMBSTONE_MS,
  UNDO_MARGIN_MS,
  withdrawTicket,
} from "./tickets";

/** What a socket's request meets on arrival: an answer, or a place in line to wait in. */
export type SocketArrival = AcquireOutcome | { status: "queued"; ticket: string; position: number };

export class WaitingEngine extends EngineBase {
  // ── Acquisition ──

  /** Admission and grant in one call: the hot path of a single-name request. */
  acquire(call: AcquireCall): Promise<AcquireOutcome> {
    return this.#arrive(call, "acquire");
  }

  /** First phase of a multi-name request: hold the slots as a reservation, waiting for them. */
  reserve(call: AcquireCall): Promise<AcquireOutcome> {
    return this.#arrive(call, "reserve");
  }

  /**
   * A request over a socket: granted or refused at once, or queued; then its grant is pushed to
   * the socket (`SocketWaits.offer`) and holds once `confirm`ed. The host binds the socket to the
   * ticket answered before it serves anything else.
   */
  arriveBySocket(call: AcquireCall): Promise<SocketArrival> {
    return this.#arrive(call, "acquire", true);
  }

  /** The socket of ticket `id` confirms its offer: the grant holds. Null when no offer is left. */
  async confirm(id: string): Promise<AcquireOutcome | null> {
    this.begin();
    const ticket = this.state.tickets.get(id);
    return this.finish(ticket && ticket.offerUntil !== null && !ticket.pending ? this.deliver(ticket) : null);
  }

  /** The socket of ticket `id` closed or failed: its place or its offer goes at once; a grant stays. */
  async socketGone(id: string): Promise<void> {
    const now = this.begin();
    const ticket = this.state.tickets.get(id);
    if (ticket && (ticket.line !== null || ticket.offerUntil !== null) && this.#withdraw(id, now)) {
      this.host.observer?.cancelled(now);
    }
    await this.finish(undefined);
  }

  /** What `call` would meet here now, without taking anything or counting a refusal. */
  async check(call: AcquireCall): Promise<CheckOutcome> {
    const now = this.begin();
    const mine = ticketToComeBackTo(this.state, call, "reserve");
    if (mine === "conflict" || (mine === null && callTaken(this.state, call, now))) {
      return this.finish({ status: "invalid", code: "request_id_in_use" });
    }
    if (mine?.line?.graceUntil != null) {
      // Its place here outlasts this call's waits on the names before it.
      detach(this.state, mine.id, Math.max(mine.line.graceUntil, now + call.waitMs + GRACE_MS));
    }
    return this.finish(mine ? { status: "ok" } : checkAdmission(this.state, call, now, "arrival"));
  }

  /** Second phase: turns reservation `ticket` into its grant. */
  async commit(
    ticket: string,
    grantTo: { leaseId: string | null; leaseMs: number; undoMs: number },
  ): Promise<CommitOutcome> {
    const now = this.begin();
    const reservation = this.state.tickets.get(ticket);
    const expiresAt = now + (reservation?.kind === "lease" ? grantTo.leaseMs : grantTo.undoMs);
    const granted = commitReservation(this.state, ticket, { leaseId: grantTo.leaseId, expiresAt }, now);
    if (granted === null) {
      return this.finish({ status: "gone" });
    }
    const isLease = granted.kind === "lease";
    return this.finish({
      status: "granted",
      fencingToken: isLease ? granted.fencingToken : null,
      expiresAt: isLease ? granted.expiresAt : null,
    });
  }

  async #arrive(call: AcquireCall, intent: "acquire" | "reserve"): Promise<AcquireOutcome>;
  async #arrive(call: AcquireCall, intent: "acquire", bySocket: true): Promise<SocketArrival>;
  async #arrive(call: AcquireCall, intent: "acquire" | "reserve", bySocket = false): Promise<SocketArrival> {
    const now = this.begin();
    const state = this.state;
    const mine = ticketToComeBackTo(this.state, call, intent);
    if (mine === "conflict" || (mine === null && callTaken(this.state, call, now))) {
      // Used before, in use, or withdrawn before it arrived: changing anything would over-admit.
      return this.finish({ status: "invalid", code: "request_id_in_use" });
    }
    if (mine) {
      return bySocket ? this.#comeBackBySocket(mine, now) : this.#comeBack(mine, call, intent, now);
    }
    const admission = checkAdmission(state, call, now, "arrival");
    if (admission.status === "ok" || admission.status === "inactive") {
      this.host.observer?.granted(call.slots, 0, call.ticket, now);
      return this.finish(this.#grantNow(call, intent, now));
    }
    if (admission.status !== "full") {
      return this.finish(admission);
    }
    if (call.waitMs <= 0 && !bySocket) {
      this.host.observer?.refused(now, false);
      return this.finish(refuse(state, call.slots, now, this.host.random));
    }
    if (state.queue.length >= this.maxWaiters) {
      this.host.observer?.refused(now, false);
      const { retryAfterSeconds } = refuse(state, call.slots, now, this.host.random);
      return this.finish({ status: "queue_full", retryAfterSeconds });
    }
    const request = { ...ticketRequest(call), leaseId: intent === "acquire" ? call.leaseId : null };
    joinLine(state, request, { intent, mode: call.mode, leaseMs: call.leaseMs, waitUntil: now + call.waitMs }, now);
    if (bySocket) {
      return this.finish({ status: "queued", ticket: call.ticket, position: state.queue.length });
    }
    const outcome = this.calls.wait(call.ticket, call.waitMs, () => void this.#waitOver(call.ticket));
    await this.finish(undefined);
    return outcome;
  }

  #grantNow(call: AcquireCall, intent: "acquire" | "reserve", now: number): AcquireOutcome {
    if (intent === "reserve") {
      return grantedOutcome(
        reserve(this.state, ticketRequest(call), now + call.waitMs + PENDING_MARGIN_MS, now),
        this.minimal(),
      );
    }
    const expiresAt = call.kind === "lease" ? now + call.leaseMs : now + call.waitMs + UNDO_MARGIN_MS;
    return grantedOutcome(grant(this.state, ticketRequest(call), expiresAt, now), this.minimal());
  }

  /** A request came back with its request id: to its place in line, its reservation or its offer. */
  async #comeBack(
    kept: Ticket,
    call: AcquireCall,
    intent: "acquire" | "reserve",
    now: number,
  ): Promise<AcquireOutcome> {
    let ticket = kept;
    if (intent === "reserve" && kept.id !== call.ticket) {
      // A multi-name request's names must share one ticket id: its place (or offer) here takes
      // this call's, and calls still on their way under the old one take nothing.
      this.calls.letGo(kept.id)?.resolve({ status: "locked", retryAfterSeconds: 0 });
      ticket = moveTicket(this.state, kept.id, call.ticket);
      putTombstone(this.state, withdrawnKey(kept.id), now + TOMBSTONE_MS);
    }
    if (ticket.line) {
      attach(this.state, ticket.id, now + call.waitMs);
      // The coordinator knows its request by the call's ticket id until this call answers.
      const outcome = this.calls.wait(ticket.id, call.waitMs, () => void this.#waitOver(ticket.id), call.ticket);
      await this.finish(undefined);
      return outcome;
    }
    if (ticket.pending) {
      // A reservation kept between two calls of a multi-name request: held again for this one.
      putTicket(this.state, { ...ticket, expiresAt: now + call.waitMs + PENDING_MARGIN_MS });
    }
    return this.finish(this.deliver(this.state.tickets.get(ticket.id) ?? ticket));
  }

  /** A socket came back for its request's ticket (a reconnect): its place, or its offer at once. */
  async #comeBackBySocket(ticket: Ticket, now: number): Promise<SocketArrival> {
    if (!ticket.line) {
      return this.finish(this.deliver(ticket));
    }
    // A long-poll of the same request lets go: the socket waits on the ticket from now on.
    this.calls.letGo(ticket.id)?.resolve({ status: "locked", retryAfterSeconds: 0 });
    attach(this.state, ticket.id, now);
    const position = this.state.queue.findIndex((waiter) => waiter.id === ticket.id) + 1;
    return this.finish({ status: "queued", ticket: ticket.id, position });
  }

  /**
   * A call's wait is over. A request that can come back (it has a request id) keeps its place for
   * the grace and is told to come back now; any other is refused with a Retry-After that counts
   * who is still ahead.
   */
  async #waitOver(id: string): Promise<void> {
    const now = this.begin();
    const attachment = this.calls.letGo(id);
    const ticket = this.state.tickets.get(id);
    if (ticket?.line && ticket.requestId !== null) {
      // Still waiting, between two calls: no refusal to count, and its next call should come now.
      detach(this.state, id, now + GRACE_MS);
      attachment?.resolve({ status: "locked", retryAfterSeconds: 0 });
    } else if (ticket?.line) {
      leaveLine(this.state, id, now + TOMBSTONE_MS);
      if (attachment) {
        this.host.observer?.refused(now, true);
      }
      attachment?.resolve(refuse(this.state, ticket.slots, now, this.host.random));
    }
    // The head may have been what held the others back.
    await this.finish(undefined);
  }

  /**
   * Gives back everything of ticket `ticket` here — its place in line, its reservation, or its
   * grant (refunding the bucket) — for a request refused elsewhere or whose client is gone.
   */
  async withdraw(ticket: string): Promise<boolean> {
    const now = this.begin();
    const held = this.#withdraw(this.calls.resolve(ticket), now);
    if (held) {
      this.host.observer?.cancelled(now);
    }
    // A call of this request still on its way (another stub) must not take anything when it lands.
    putTombstone(this.state, withdrawnKey(ticket), now + TOMBSTONE_MS);
    return this.finish(held);
  }

  /**
   * The caller of ticket `ticket` went away while waiting, or a multi-name request's wait ended on
   * another name. A request that can come back (it has a request id) keeps its place, or its
   * reservation, for the grace; anything else is withdrawn.
   */
  async leave(ticket: string): Promise<void> {
    const now = this.begin();
    const id = this.calls.resolve(ticket);
    const held = this.state.tickets.get(id);
    if (held?.requestId != null && held.line) {
      this.calls.letGo(id)?.resolve({ status: "locked", retryAfterSeconds: 0 });
      detach(this.state, id, now + GRACE_MS);
    } else if (held?.requestId != null && held.pending && held.offerUntil === null) {
      // A multi-name request that keeps its place on a later name gives its reservation here
      // back, but not its request id: its next call reserves here again under that id.
      withdrawTicket(this.state, id, now);
      deleteTombstone(this.state, held.requestId);
      putTombstone(this.state, withdrawnKey(ticket), now + TOMBSTONE_MS);
    } else {
      if (this.#withdraw(id, now)) {
        this.host.observer?.cancelled(now);
      }
      putTombstone(this.state, withdrawnKey(ticket), now + TOMBSTONE_MS);
    }
    await this.finish(undefined);
  }

  /**
   * `POST /cancel`: withdraws the request the client named `requestId`. One that has not arrived
   * yet finds a tombstone and is refused when it does.
   */
  async cancel(requestId: string): Promise<boolean> {
    const now = this.begin();
    const ticket = this.state.requestIds.get(requestId);
    const held = ticket !== undefined && this.#withdraw(ticket, now);
    if (held) {
      this.host.observer?.cancelled(now);
    }
    putTombstone(this.state, requestId, now + TOMBSTONE_MS);
    return this.finish(held);
  }

  #withdraw(ticket: string, now: number): boolean {
    const attachment = this.calls.letGo(ticket);
    attachment?.resolve({ status: "locked", retryAfterSeconds: 0 });
    return leaveLine(this.state, ticket, now + TOMBSTONE_MS) || withdrawTicket(this.state, ticket, now) || !!attachment;
  }
}
