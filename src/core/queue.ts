/**
 * The waiter queue of one limit (DESIGN §3.6): strict first-in first-out, so a large request at
 * the head is never starved by small ones behind it. Pure.
 */

import { type Admission, checkAdmission } from "./admission";
import type { LimitState, Waiter } from "./state";

export function enqueue(state: LimitState, waiter: Waiter): void {
  state.queue.push(waiter);
}

/** Takes a waiter out of line (granted, timed out or withdrawn); false when it is not there. */
export function dequeue(state: LimitState, id: string): boolean {
  const index = state.queue.findIndex((waiter) => waiter.id === id);
  if (index < 0) {
    return false;
  }
  state.queue.splice(index, 1);
  return true;
}

/**
 * The head waiter, if it should be answered now: it fits, or the limit changed under it
 * (inactive, deleted, now too small). Null while it must keep waiting; nobody behind a waiting
 * head is considered.
 */
export function readyHead(
  state: LimitState,
  now: number,
): { waiter: Waiter; decision: Exclude<Admission, { status: "full" }> } | null {
  const waiter = state.queue[0];
  if (!waiter) {
    return null;
  }
  const decision = checkAdmission(state, waiter, now, "head");
  return decision.status === "full" ? null : { waiter, decision };
}
