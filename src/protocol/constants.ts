/**
 * Numeric bounds, defaults and fixed strings of the wire contract, shared by the Worker's
 * validation and routes, the core, the client's up-front option checks and the CLI.
 * Runtime-neutral: imports nothing.
 */

/** Where every API route lives (Prefect's path for global concurrency limits). */
export const API_PREFIX = "/api/v2/concurrency_limits";
/** The Worker's base URL when none is given: where `npm run dev` serves. */
export const DEFAULT_URL = "http://127.0.0.1:8787";

/** Default lease duration when a request gives none. */
export const DEFAULT_LEASE_SECONDS = 60;
/** Shortest lease: edge code wants slots back soon after a crash (Prefect's minimum is 60). */
export const MIN_LEASE_SECONDS = 1;
/** Longest lease (Prefect's maximum). */
export const MAX_LEASE_SECONDS = 86_400;
/** Longest server-side wait a single request may ask for. */
export const MAX_WAIT_SECONDS = 60;
/** Most distinct names one request may take at once. */
export const MAX_NAMES = 32;
/** Longest limit name. */
export const MAX_NAME_LENGTH = 200;
/** Longest holder `type` (a holder's `id` may be as long as a name). */
export const MAX_HOLDER_TYPE_LENGTH = 100;
/** Largest page of `POST /filter` (Prefect's default API limit). */
export const MAX_PAGE_SIZE = 200;
/** Largest request body the API reads. */
export const MAX_BODY_BYTES = 64 * 1024;
/** Largest `limit`, `slots` and `active_slots`: beyond this, integers stop being exact doubles. */
export const MAX_SLOTS = 1_000_000_000;
/**
 * Smallest non-zero `slot_decay_per_second` (one slot per 11.6 days): below it a rate limit's
 * waits stop being meaningful numbers.
 */
export const MIN_SLOT_DECAY_PER_SECOND = 0.000_001;
/** The longest `Retry-After` the API advises: come back within the hour and ask again. */
export const MAX_RETRY_AFTER_SECONDS = 3_600;
/**
 * The `Retry-After` of an `overloaded` answer: an object that asked for less load is given at
 * least this long (clients add jitter and double it on every retry).
 */
export const OVERLOADED_RETRY_AFTER_SECONDS = 1;
/** Most requests that may wait in one limit's line at once. */
export const MAX_WAITERS = 10_000;
/** A client-chosen `request_id`: letters, digits, `-` and `_` (it becomes part of lease ids). */
export const REQUEST_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
/** Prefect's name rule (V-1): at least one character, none of `/ % & > <`. */
export const NAME_PATTERN = /^[^/%&><]+$/;
