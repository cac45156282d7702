/**
 * Where a limit object's events go (issue 14): collected during a call, then handed to the sinks
 * configured in wrangler.toml (`GCL_EVENTS_QUEUE`, `GCL_EVENTS_ANALYTICS`) when the call ends.
 * Off by default: with no sink bound nothing is built. A sink never delays or fails a grant:
 * Analytics Engine writes are synchronous and cannot block (a throw is caught and logged), and the
 * queue send is not awaited (it runs under `waitUntil`, its failure logged).
 */

import { dataPoint, type EventLimit, lifecycleEvent, type PrefectEvent, slotEvent } from "./prefect-events";

export interface EventSinks {
  queue?: Pick<Queue<PrefectEvent>, "sendBatch"> | undefined;
  analytics?: AnalyticsEngineDataset | undefined;
}

/** At most this many events per call; more in one call are dropped (and counted). */
const MAX_EVENTS_PER_CALL = 100;
/** Acquisitions remembered so their release can point back at them (`follows`). */
const MAX_REMEMBERED = 1_000;

export function sinksOf(env: Env): EventSinks {
  return { queue: env.GCL_EVENTS_QUEUE, analytics: env.GCL_EVENTS_ANALYTICS };
}

export class EventOutbox {
  /** Replaceable (tests put fakes here through `runInDurableObject`). */
  sinks: EventSinks;
  readonly #waitUntil: (promise: Promise<unknown>) => void;
  #pending: PrefectEvent[] = [];
  readonly #acquiredBy = new Map<string, string>();
  dropped = 0;

  constructor(sinks: EventSinks, waitUntil: (promise: Promise<unknown>) => void) {
    this.sinks = sinks;
    this.#waitUntil = waitUntil;
  }

  get enabled(): boolean {
    return this.sinks.queue !== undefined || this.sinks.analytics !== undefined;
  }

  #push(event: PrefectEvent): void {
    if (this.#pending.length >= MAX_EVENTS_PER_CALL) {
      this.dropped += 1;
      return;
    }
    this.#pending.push(event);
  }

  lifecycle(kind: "created" | "updated" | "deleted", limit: EventLimit | null, at: number): void {
    if (this.enabled && limit) {
      this.#push(lifecycleEvent(kind, limit, at, crypto.randomUUID()));
    }
  }

  /** `slots` granted to request `key` (a lease id, or a request's own id). */
  acquired(limit: EventLimit | null, slots: number, key: string, at: number): void {
    if (!this.enabled || !limit) {
      return;
    }
    const id = crypto.randomUUID();
    this.#acquiredBy.set(key, id);
    if (this.#acquiredBy.size > MAX_REMEMBERED) {
      const oldest = this.#acquiredBy.keys().next().value;
      if (oldest !== undefined) {
        this.#acquiredBy.delete(oldest);
      }
    }
    this.#push(slotEvent("acquired", limit, slots, at, id));
  }

  released(limit: EventLimit | null, slots: number, key: string, at: number): void {
    if (!this.enabled || !limit) {
      return;
    }
    const follows = this.#acquiredBy.get(key);
    this.#acquiredBy.delete(key);
    this.#push(slotEvent("released", limit, slots, at, crypto.randomUUID(), follows));
  }

  /** Hands the call's events to the sinks; never throws, never waits. */
  flush(): void {
    if (this.#pending.length === 0) {
      return;
    }
    const events = this.#pending;
    this.#pending = [];
    const { analytics, queue } = this.sinks;
    if (analytics) {
      try {
        for (const event of events) {
          analytics.writeDataPoint(dataPoint(event));
        }
      } catch (error) {
        console.error("event sink GCL_EVENTS_ANALYTICS failed; events dropped", error);
      }
    }
    if (queue) {
      try {
        this.#waitUntil(
          queue.sendBatch(events.map((body) => ({ body, contentType: "json" as const }))).catch((error: unknown) => {
            console.error("event sink GCL_EVENTS_QUEUE failed; events dropped", error);
          }),
        );
      } catch (error) {
        console.error("event sink GCL_EVENTS_QUEUE failed; events dropped", error);
      }
    }
  }
}
