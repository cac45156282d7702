// Optional event sinks (issue 14), bound in wrangler.toml; with neither bound, no event is built.
interface Env {
  /** A Cloudflare Queue that receives every event as a message (its body is the Prefect event). */
  GCL_EVENTS_QUEUE?: Queue<import("./prefect-events").PrefectEvent>;
  /** A Workers Analytics Engine dataset that receives one data point per event. */
  GCL_EVENTS_ANALYTICS?: AnalyticsEngineDataset;
}
