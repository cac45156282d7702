/**
 * Request and response schemas of the HTTP API. The Worker validates every body with these, and
 * the OpenAPI document (`scripts/openapi.mjs`, at build time) is generated from the same objects,
 * so the document cannot drift from what is enforced. Server-side only; the client and CLI use
 * `./types`.
 */

import {
  MAX_HOLDER_TYPE_LENGTH,
  MAX_LEASE_SECONDS,
  MAX_NAME_LENGTH,
  MAX_NAMES,
  MAX_PAGE_SIZE,
  MAX_SLOTS,
  MAX_WAIT_SECONDS,
  MIN_LEASE_SECONDS,
  MIN_SLOT_DECAY_PER_SECOND,
  NAME_PATTERN,
  REQUEST_ID_PATTERN,
} from "./constants";
import { FORBIDDEN_IN_NAMES, NAME_RULE } from "./names";
import type {
  CancelBody,
  CreateLimitBody,
  DecrementBody,
  FilterBody,
  IncrementBody,
  IncrementWithLeaseBody,
  LeaseGrant,
  LimitLeases,
  LimitRecord,
  LocationHint,
  MinimalLimit,
  RenewBody,
  UpdateLimitBody,
} from "./types";
import {
  boolean,
  documented,
  int,
  list,
  named,
  nullable,
  number,
  object,
  oneOf,
  optional,
  refine,
  type Schema,
  string,
  text,
} from "./validation";

// ── Fields ──

/** Prefect's name rule (V-1): which forbidden characters a name holds. */
function nameRule(value: string): string | undefined {
  if (NAME_PATTERN.test(value)) {
    return undefined;
  }
  const forbidden = FORBIDDEN_IN_NAMES.split(" ");
  const found = [...new Set([...value].filter((ch) => forbidden.includes(ch)))].join(" ");
  return `must not contain ${found} (a name may not contain any of ${FORBIDDEN_IN_NAMES})`;
}

const nameRules = {
  expected: `a limit name (${NAME_RULE})`,
  minLength: 1,
  maxLength: MAX_NAME_LENGTH,
  json: { pattern: NAME_PATTERN.source, example: "db" },
};

const LimitName = string({ ...nameRules, rule: nameRule });

const SlotCount = int(0, MAX_SLOTS);
const RequestedSlots = int(1, MAX_SLOTS);
// A decay so small that waits stop being meaningful numbers is refused (one slot in 11.6 days at least).
const DecayPerSecond = refine(number(0, MAX_SLOTS), (decay) =>
  decay === 0 || decay >= MIN_SLOT_DECAY_PER_SECOND
    ? undefined
    : `must be 0 (no decay) or at least ${MIN_SLOT_DECAY_PER_SECOND.toFixed(6)} (one slot in 11.6 days), got ${decay}`,
);
// Counted after de-duplication, as the request is served: `["a", "a"]` is one name.
const Names = list(LimitName, {
  expected: `a list of limit names, like ["db"]`,
  maxDistinct: MAX_NAMES,
  noun: "names",
});
const LeaseSeconds = number(MIN_LEASE_SECONDS, MAX_LEASE_SECONDS);
const WaitSeconds = number(0, MAX_WAIT_SECONDS);
const Mode = oneOf(["concurrency", "rate_limit"]);
const Holder = object(
  {
    type: string({
      expected: `a string of 1 to ${MAX_HOLDER_TYPE_LENGTH} characters`,
      minLength: 1,
      maxLength: MAX_HOLDER_TYPE_LENGTH,
    }),
    id: string({
      expected: `a string of 1 to ${MAX_NAME_LENGTH} characters`,
      minLength: 1,
      maxLength: MAX_NAME_LENGTH,
    }),
  },
  { strict: true },
);
const RequestId = string({
  expected: "a request id (1 to 64 of A-Z a-z 0-9 - _)",
  json: { pattern: REQUEST_ID_PATTERN.source },
  rule: (value) =>
    REQUEST_ID_PATTERN.test(value) ? undefined : `must be 1 to 64 of A-Z a-z 0-9 - _, got ${JSON.stringify(value)}`,
});

/** Cloudflare's Durable Object location hints. */
export const LOCATION_HINTS = [
  "wnam",
  "enam",
  "sam",
  "weur",
  "eeur",
  "apac",
  "oc",
  "afr",
  "me",
] as const satisfies readonly LocationHint[];

// ── Requests ──

export const CreateLimitSchema = named(
  "CreateLimit",
  object(
    {
      name: LimitName,
      limit: SlotCount,
      active: optional(boolean()),
      slot_decay_per_second: optional(DecayPerSecond),
      active_slots: optional(SlotCount),
      denied_slots: optional(SlotCount),
      location_hint: optional(oneOf(LOCATION_HINTS)),
    },
    { strict: true },
  ),
) satisfies Schema<CreateLimitBody>;

export const UpdateLimitSchema = named(
  "UpdateLimit",
  object(
    {
      name: optional(text({ description: "Limits cannot be renamed: only the current name is accepted" })),
      active: optional(boolean()),
      limit: optional(SlotCount),
      slot_decay_per_second: optional(DecayPerSecond),
      active_slots: optional(SlotCount),
      denied_slots: optional(SlotCount),
    },
    { strict: true },
  ),
) satisfies Schema<UpdateLimitBody>;

export const FilterSchema = named(
  "Filter",
  object({ limit: optional(int(0, MAX_PAGE_SIZE)), offset: optional(int(0)) }),
) satisfies Schema<FilterBody>;

// Acquire and release bodies ignore unknown keys, as Prefect does (V-3: `create_if_missing`).
const incrementFields = {
  names: Names,
  slots: RequestedSlots,
  mode: optional(Mode),
  wait_seconds: optional(WaitSeconds),
  request_id: optional(RequestId),
};

export const IncrementSchema = named("Increment", object(incrementFields)) satisfies Schema<IncrementBody>;

export const IncrementWithLeaseSchema = named(
  "IncrementWithLease",
  object({ ...incrementFields, lease_duration: optional(LeaseSeconds), holder: optional(Holder) }),
) satisfies Schema<IncrementWithLeaseBody>;

export const DecrementSchema = named(
  "Decrement",
  object({ names: Names, slots: RequestedSlots, occupancy_seconds: optional(number(0)) }),
) satisfies Schema<DecrementBody>;

export const DecrementWithLeaseSchema = named(
  "DecrementWithLease",
  object({ lease_id: string({ expected: "a lease id from /increment-with-lease", minLength: 1 }) }),
) satisfies Schema<{ lease_id: string }>;

export const CancelSchema = named(
  "Cancel",
  object({ names: Names, request_id: RequestId }),
) satisfies Schema<CancelBody>;

export const RenewSchema = named(
  "Renew",
  object({ lease_duration: optional(LeaseSeconds) }),
) satisfies Schema<RenewBody>;

// ── Responses (documentation only: the Worker never checks its own answers) ──

const Int = documented<number>({ type: "integer" });
const Num = documented<number>({ type: "number" });
const Str = documented<string>({ type: "string" });
const Timestamp = documented<string>({ type: "string", format: "date-time" });
const Uuid = documented<string>({ type: "string", format: "uuid" });

export const LimitRecordSchema = named(
  "Limit",
  object({
    id: Uuid,
    name: Str,
    limit: Int,
    active: boolean(),
    active_slots: Int,
    denied_slots: Int,
    slot_decay_per_second: Num,
    avg_slot_occupancy_seconds: Num,
    created: Timestamp,
    updated: Timestamp,
    location_hint: nullable(Str),
  }),
) satisfies Schema<LimitRecord>;

export const LimitRecordsSchema = list(LimitRecordSchema);

const minimalLimitShape = { id: Uuid, name: Str, limit: Int };

export const MinimalLimitsSchema = named("MinimalLimits", list(object(minimalLimitShape))) satisfies Schema<
  MinimalLimit[]
>;

export const LeaseGrantSchema = named(
  "LeaseGrant",
  object({
    lease_id: Str,
    limits: list(object({ ...minimalLimitShape, fencing_token: Int })),
    missing: list(Str),
    expires_at: Timestamp,
  }),
) satisfies Schema<LeaseGrant>;

export const LimitLeasesSchema = named(
  "LimitLeases",
  object({
    leases: list(
      object({
        lease_id: Str,
        slots: Int,
        holder: nullable(Holder),
        acquired_at: Timestamp,
        expires_at: Timestamp,
      }),
    ),
    waiting: Int,
    waiters: list(
      object({
        position: Int,
        slots: Int,
        mode: Mode,
        holder: nullable(Holder),
        waiting_since: Timestamp,
      }),
    ),
  }),
) satisfies Schema<LimitLeases>;

export const ErrorSchema = named(
  "Error",
  object({
    detail: Str,
    code: Str,
    errors: optional(list(object({ path: Str, message: Str }))),
  }),
);
