/**
 * Prefect's concurrency-limit events (issue 14), pure: the same names and shapes Prefect's server
 * emits for a limit's lifecycle (`prefect.concurrency-limit.created|updated|deleted`, payload
 * `{name, limit, active, slot_decay_per_second}`) and its client for slots
 * (`prefect.concurrency-limit.acquired|released`, resource labels `slots-acquired` and `limit`, the
 * release `follows` its acquisition). Ids and times are arguments.
 */

export type LimitEventKind = "created" | "updated" | "deleted" | "acquired" | "released";

/** A Prefect event, as Prefect's `Event` model serializes it. */
export interface PrefectEvent {
  id: string;
  /** ISO 8601. */
  occurred: string;
  event: `prefect.concurrency-limit.${LimitEventKind}`;
  resource: Record<string, string>;
  related: Record<string, string>[];
  payload: Record<string, unknown>;
  /** The id of the event this one follows (a release follows its acquisition). */
  follows?: string;
}

/** What an event needs to know of its limit. */
export interface EventLimit {
  id: string;
  name: string;
  limit: number;
  active: boolean;
  slotDecayPerSecond: number;
}

function resource(limit: EventLimit): Record<string, string> {
  return { "prefect.resource.id": `prefect.concurrency-limit.${limit.id}`, "prefect.resource.name": limit.name };
}

/** `created`, `updated` or `deleted`, as Prefect's server emits them. */
export function lifecycleEvent(
  kind: "created" | "updated" | "deleted",
  limit: EventLimit,
  at: number,
  id: string,
): PrefectEvent {
  return {
    id,
    occurred: new Date(at).toISOString(),
    event: `prefect.concurrency-limit.${kind}`,
    resource: resource(limit),
    related: [],
    payload: {
      name: limit.name,
      limit: limit.limit,
      active: limit.active,
      slot_decay_per_second: limit.slotDecayPerSecond,
    },
  };
}

/** `acquired` or `released` of `slots`, as Prefect's client emits them; labels are strings. */
export function slotEvent(
  kind: "acquired" | "released",
  limit: EventLimit,
  slots: number,
  at: number,
  id: string,
  follows?: string,
): PrefectEvent {
  return {
    id,
    occurred: new Date(at).toISOString(),
    event: `prefect.concurrency-limit.${kind}`,
    resource: { ...resource(limit), "slots-acquired": String(slots), limit: String(limit.limit) },
    related: [],
    payload: {},
    ...(follows === undefined ? {} : { follows }),
  };
}

/**
 * The event as one Workers Analytics Engine data point: the limit's name as the index (sampling
 * key), the event name, limit name and resource id as blobs, slots and limit as doubles.
 */
export function dataPoint(event: PrefectEvent): AnalyticsEngineDataPoint {
  const name = event.resource["prefect.resource.name"] ?? "";
  return {
    indexes: [name.slice(0, 96)],
    blobs: [event.event, name, event.resource["prefect.resource.id"] ?? ""],
    doubles: [Number(event.resource["slots-acquired"] ?? 0), Number(event.resource.limit ?? event.payload.limit ?? 0)],
  };
}
