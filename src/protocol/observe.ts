/**
 * Wire facts of observability (issue 14), shared by the Worker, the client, the CLI and the
 * dashboard: history resolutions, the history answer, the histogram bounds behind the
 * percentiles and `gcl_wait_seconds`, and the metric names of `GET /metrics`. Runtime-neutral:
 * imports nothing.
 */

/** Bucket widths a history read may ask for, with how far back each one reaches. */
export const HISTORY_RESOLUTIONS = {
  "10s": { bucketSeconds: 10, retentionSeconds: 3_600 },
  "1m": { bucketSeconds: 60, retentionSeconds: 86_400 },
} as const;

export type HistoryResolution = keyof typeof HISTORY_RESOLUTIONS;

export const DEFAULT_HISTORY_RESOLUTION: HistoryResolution = "10s";

export function isHistoryResolution(value: unknown): value is HistoryResolution {
  return typeof value === "string" && Object.hasOwn(HISTORY_RESOLUTIONS, value);
}

/** Upper bounds (seconds) of the wait-time histogram; a last, unbounded bucket follows. */
export const WAIT_BOUNDS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] as const;
/** Upper bounds (seconds) of the hold-time histogram of released leases. */
export const HOLD_BOUNDS_SECONDS = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3_600] as const;

/** Percentiles estimated from a bucket's fixed histogram; null when nothing was measured. */
export interface DurationSummary {
  count: number;
  p50: number | null;
  p95: number | null;
  max: number | null;
}

/** One time bucket of a limit's history. */
export interface HistoryBucket {
  /** ISO 8601 start of the bucket. */
  start: string;
  /** Requests granted (a multi-name request counts on each limit it reserved). */
  grants: number;
  slots_granted: number;
  /** Every 423 answer: refused at once, or at the end of `wait_seconds`. */
  refusals: number;
  /** The refusals that had waited in line until their deadline. */
  wait_timeouts: number;
  /** Requests withdrawn (`POST /cancel`, a client gone, another name refused). */
  cancels: number;
  /** Leases that ended by expiry, not release: lost holders. */
  lease_expirations: number;
  /** Most slots held at once during the bucket (at the end of each call; carried over idle buckets). */
  peak_active_slots: number;
  peak_waiting: number;
  /** The limit's `limit` as last seen in the bucket. */
  limit: number;
  /** Time in line of granted requests (0 for those granted at once). */
  wait_seconds: DurationSummary;
  /** How long released leases were held. */
  hold_seconds: DurationSummary;
}

export interface LimitHistory {
  name: string;
  resolution: HistoryResolution;
  bucket_seconds: number;
  /** Oldest first; every bucket of the window is present, idle ones included. */
  buckets: HistoryBucket[];
}

/** Metric names of `GET /metrics`, one home for the dashboard, docs and tests. */
export const METRICS = {
  slots: "gcl_limit_slots",
  activeSlots: "gcl_limit_active_slots",
  waiting: "gcl_limit_waiting",
  active: "gcl_limit_active",
  grants: "gcl_grants_total",
  slotsGranted: "gcl_slots_granted_total",
  refusals: "gcl_refusals_total",
  waitTimeouts: "gcl_wait_timeouts_total",
  cancels: "gcl_cancels_total",
  leaseExpirations: "gcl_lease_expirations_total",
  waitSeconds: "gcl_wait_seconds",
  holdSeconds: "gcl_hold_seconds",
  scrapeLimits: "gcl_scrape_limits",
  scrapeTruncated: "gcl_scrape_truncated",
} as const;

/** Most limits one scrape reads (one limit-object call each); page on with `?offset=`. */
export const MAX_METRICS_LIMITS = 500;

/** One limit in `GET /metrics?format=json`: the same numbers as the Prometheus text, as JSON. */
export interface LimitSnapshot {
  name: string;
  limit: number;
  active: boolean;
  active_slots: number;
  waiting: number;
  /** Lifetime counters (they restart when a limit is deleted and created again). */
  grants_total: number;
  slots_granted_total: number;
  refusals_total: number;
  wait_timeouts_total: number;
  cancels_total: number;
  lease_expirations_total: number;
  /** Over the limit's lifetime. */
  wait_seconds: DurationSummary;
  /** Average seconds a released lease was held; null while none has been released. */
  mean_hold_seconds: number | null;
  /** Peak active slots per minute over the last hour, oldest first (60 values): a sparkline. */
  last_hour_peaks: number[];
  /** Grants and refusals (423) over the last hour: counts over a window, not a decaying gauge. */
  last_hour_grants: number;
  last_hour_refusals: number;
}

export interface MetricsSnapshot {
  /** ISO 8601 time of the scrape. */
  at: string;
  limits: LimitSnapshot[];
  /** More limits exist than one scrape reads: page on with `?offset=`. */
  truncated: boolean;
}
