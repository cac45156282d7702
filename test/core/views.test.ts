import { describe, it } from "vitest";
import { updateLimit } from "../../src/core/settings";
import { expire } from "../../src/core/tickets";
import { createState } from "../../src/core/state";
import { leaseInfos, limitRecord, minimalLimit } from "../../src/core/views";
import { acquireLease, increment, LIMIT_ID, limitState, reserveSlots, T0 } from "./fixtures";

describe("limitRecord", () => {
  it("is null when no limit of the name exists", ({ expect }) => {
    expect(limitRecord(createState(), T0)).toBeNull();
  });

  it("reports leases, anonymous slots and the bucket together as active_slots", ({ expect }) => {
    const state = limitState({ limit: 10 });
    acquireLease(state, { slots: 2, durationMs: 60_000 }, T0);
    increment(state, 3, T0);

    expect(limitRecord(state, T0)).toEqual({
      id: LIMIT_ID,
      name: "db",
      limit: 10,
      active: true,
      active_slots: 5,
      denied_slots: 0,
      slot_decay_per_second: 0,
      avg_slot_occupancy_seconds: 2,
      location_hint: null,
      created: new Date(T0).toISOString(),
      updated: new Date(T0).toISOString(),
    });
  });

  it("rounds a fractional count up, but not float noise a hair above a whole slot", ({ expect }) => {
    const state = limitState({ limit: 10, slotDecayPerSecond: 1 });
    increment(state, 5, T0);

    expect(limitRecord(state, T0 + 1)?.active_slots).toBe(5);
    expect(limitRecord(state, T0 + 700)?.active_slots).toBe(5);
    expect(limitRecord(state, T0 + 1_000)?.active_slots).toBe(4);

    updateLimit(state, { slotDecayPerSecond: 0, activeSlots: 3 + 1e-12 }, T0);
    expect(limitRecord(state, T0)?.active_slots).toBe(3);
  });

  it("moves updated, not created, on a PATCH", ({ expect }) => {
    const state = limitState({ limit: 10 });

    updateLimit(state, { limit: 4 }, T0 + 5_000);

    expect(limitRecord(state, T0 + 6_000)).toMatchObject({
      limit: 4,
      created: new Date(T0).toISOString(),
      updated: new Date(T0 + 5_000).toISOString(),
    });
  });

  it("has a minimal form of id, name and limit", ({ expect }) => {
    const state = limitState({ limit: 7, name: "api" });

    expect(state.config && minimalLimit(state.config)).toEqual({ id: LIMIT_ID, name: "api", limit: 7 });
  });
});

describe("leaseInfos", () => {
  it("lists live committed leases, oldest first, without reservations, increments or dead leases", ({ expect }) => {
    const state = limitState({ limit: 10 });
    const newer = acquireLease(state, { slots: 1, durationMs: 60_000, id: "newer" }, T0 + 100);
    const older = acquireLease(state, { slots: 2, durationMs: 60_000, id: "older" }, T0);
    acquireLease(state, { slots: 1, durationMs: 50, id: "dead" }, T0);
    reserveSlots(state, { id: "pending", slots: 1, pendingMs: 5_000 }, T0);
    increment(state, 1, T0);

    expire(state, T0 + 200);
    const infos = leaseInfos(state);

    expect(infos.map((info) => info.lease_id)).toEqual([older.leaseId, newer.leaseId]);
    expect(infos[0]).toEqual({
      lease_id: older.leaseId,
      slots: 2,
      holder: null,
      acquired_at: new Date(T0).toISOString(),
      expires_at: new Date(T0 + 60_000).toISOString(),
    });
  });

  it("is a pure read: it lists a dead lease until expire runs, and removes nothing", ({ expect }) => {
    // Changed on purpose: views no longer expire rows; the engine expires before every read.
    const state = limitState({ limit: 10 });
    const dead = acquireLease(state, { slots: 1, durationMs: 50 }, T0);

    expect(leaseInfos(state).map((info) => info.lease_id)).toEqual([dead.leaseId]);
    expect(limitRecord(state, T0 + 200)?.active_slots).toBe(1);
    expect(state.tickets.has(dead.id)).toBe(true);

    expire(state, T0 + 200);
    expect(leaseInfos(state)).toEqual([]);
    expect(limitRecord(state, T0 + 200)?.active_slots).toBe(0);
  });
});
