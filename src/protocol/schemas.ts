/**
 * Request and response schemas of the HTTP API. The Worker validates every body with these, and
 * `/openapi.json` is generated from the same objects, so the document cannot drift from what is
 * enforced. Server-side only (it pulls in zod); the client and CLI use `./types`.
 */

import { z } from "@hono/zod-openapi";
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
  MinimalLimit,
  RenewBody,
  UpdateLimitBody,
} from "./types";

// ── Fields ──

const LimitName = z
  .string()
  .min(1, "must not be empty")
  .max(MAX_NAME_LENGTH, `must be at most ${MAX_NAME_LENGTH} characters`)
  .regex(NAME_PATTERN, "must not contain any of / % & > <")
  .openapi({ example: "db" });

const SlotCount = z.int().min(0).max(MAX_SLOTS);
const RequestedSlots = z.int().min(1, "must be at least 1").max(MAX_SLOTS);
const DecayPerSecond = z
  .number()
  .min(0)
  .max(MAX_SLOTS)
  .refine(
    (decay) => decay === 0 || decay >= MIN_SLOT_DECAY_PER_SECOND,
    `must be 0 (no decay) or at least ${MIN_SLOT_DECAY_PER_SECOND.toFixed(6)} (one slot in 11.6 days)`,
  );
// Counted after de-duplication, as the request is served: `["a", "a"]` is one name.
const Names = z
  .array(LimitName)
  .refine((names) => new Set(names).size <= MAX_NAMES, `must list at most ${MAX_NAMES} distinct names`);
const LeaseSeconds = z.number().min(MIN_LEASE_SECONDS).max(MAX_LEASE_SECONDS);
const WaitSeconds = z.number().min(0).max(MAX_WAIT_SECONDS);
const Mode = z.enum(["concurrency", "rate_limit"]);
const Holder = z.strictObject({ type: z.string().min(1).max(MAX_HOLDER_TYPE_LENGTH), id: z.string().min(1).max(MAX_NAME_LENGTH) });
const RequestId = z.string().regex(REQUEST_ID_PATTERN, "must be 1-64 of A-Z a-z 0-9 - _");
const Timestamp = z.string().openapi({ format: "date-time" });

// ── Requests ──

export const CreateLimitSchema = z
  .strictObject({
    name: LimitName,
    limit: SlotCount,
    active: z.boolean().optional(),
    slot_decay_per_second: DecayPerSecond.optional(),
    active_slots: SlotCount.optional(),
    denied_slots: SlotCount.optional(),
  })
  .openapi("CreateLimit") satisfies z.ZodType<CreateLimitBody>;

export const UpdateLimitSchema = z
  .strictObject({
    name: z.string().optional().openapi({ description: "Limits cannot be renamed: only the current name is accepted" }),
    active: z.boolean().optional(),
    limit: SlotCount.optional(),
    slot_decay_per_second: DecayPerSecond.optional(),
    active_slots: SlotCount.optional(),
    denied_slots: SlotCount.optional(),
  })
  .openapi("UpdateLimit") satisfies z.ZodType<UpdateLimitBody>;

export const FilterSchema = z
  .object({
    limit: z.int().min(0).max(MAX_PAGE_SIZE).optional(),
    offset: z.int().min(0).optional(),
  })
  .openapi("Filter") satisfies z.ZodType<FilterBody>;

// Acquire and release bodies ignore unknown keys, as Prefect does (V-3: `create_if_missing`).
const incrementFields = {
  names: Names,
  slots: RequestedSlots,
  mode: Mode.optional(),
  wait_seconds: WaitSeconds.optional(),
  request_id: RequestId.optional(),
};

export const IncrementSchema = z.object(incrementFields).openapi("Increment") satisfies z.ZodType<IncrementBody>;

export const IncrementWithLeaseSchema = z
  .object({ ...incrementFields, lease_duration: LeaseSeconds.optional(), holder: Holder.optional() })
  .openapi("IncrementWithLease") satisfies z.ZodType<IncrementWithLeaseBody>;

export const DecrementSchema = z
  .object({ names: Names, slots: RequestedSlots, occupancy_seconds: z.number().min(0).optional() })
  .openapi("Decrement") satisfies z.ZodType<DecrementBody>;

export const DecrementWithLeaseSchema = z.object({ lease_id: z.string().min(1) }).openapi("DecrementWithLease");

export const CancelSchema = z
  .object({ names: Names, request_id: RequestId })
  .openapi("Cancel") satisfies z.ZodType<CancelBody>;

export const RenewSchema = z
  .object({ lease_duration: LeaseSeconds.optional() })
  .openapi("Renew") satisfies z.ZodType<RenewBody>;

// ── Responses ──

export const LimitRecordSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    limit: z.int(),
    active: z.boolean(),
    active_slots: z.int(),
    denied_slots: z.int(),
    slot_decay_per_second: z.number(),
    avg_slot_occupancy_seconds: z.number(),
    created: Timestamp,
    updated: Timestamp,
  })
  .openapi("Limit") satisfies z.ZodType<LimitRecord>;

const MinimalLimitShape = { id: z.uuid(), name: z.string(), limit: z.int() };

export const MinimalLimitsSchema = z
  .array(z.object(MinimalLimitShape))
  .openapi("MinimalLimits") satisfies z.ZodType<MinimalLimit[]>;

export const LeaseGrantSchema = z
  .object({
    lease_id: z.string(),
    limits: z.array(z.object({ ...MinimalLimitShape, fencing_token: z.int() })),
    missing: z.array(z.string()),
    expires_at: Timestamp,
  })
  .openapi("LeaseGrant") satisfies z.ZodType<LeaseGrant>;

export const LimitLeasesSchema = z
  .object({
    leases: z.array(
      z.object({
        lease_id: z.string(),
        slots: z.int(),
        holder: Holder.nullable(),
        acquired_at: Timestamp,
        expires_at: Timestamp,
      }),
    ),
    waiting: z.int(),
    waiters: z.array(
      z.object({
        position: z.int(),
        slots: z.int(),
        mode: Mode,
        holder: Holder.nullable(),
        waiting_since: Timestamp,
      }),
    ),
  })
  .openapi("LimitLeases") satisfies z.ZodType<LimitLeases>;

export const ErrorSchema = z
  .object({
    detail: z.string(),
    code: z.string(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi("Error");
