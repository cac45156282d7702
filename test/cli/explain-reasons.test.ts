/**
 * `explain()` reads the client's errors by class and `reason`, never by message: an unreachable
 * Worker, a strict request's missing limit, a refusal with the server's code.
 */

import { describe, it } from "vitest";
import { ConcurrencySlotAcquisitionError, GclError, UnreachableError } from "../../src/client";
import { explain } from "../../src/cli/errors";

const subject = { names: ["db"], url: "http://gcl.test" };

describe("explain() of the client's errors", () => {
  it("says the Worker could not be reached, for an acquisition whose reason is `unreachable`", ({ expect }) => {
    const cause = new UnreachableError("could not reach POST http://gcl.test/x: fetch failed");
    const error = new ConcurrencySlotAcquisitionError("Unable to acquire concurrency slots on ['db']: ...", {
      reason: "unreachable",
      names: ["db"],
      cause,
    });

    expect(explain(error, subject).message).toBe(
      `Could not reach the edge-gcl Worker at http://gcl.test (${cause.message}).`,
    );
  });

  it("says the same for an admin call's `unavailable` caused by an UnreachableError", ({ expect }) => {
    const error = new GclError("unavailable", "no answer", { cause: new UnreachableError("no answer within 30 s") });

    expect(explain(error, subject).message).toBe(
      "Could not reach the edge-gcl Worker at http://gcl.test (no answer within 30 s).",
    );
  });

  it("says a 503 that did answer is brief unavailability, not an unreachable Worker", ({ expect }) => {
    const error = new GclError("unavailable", "a limit object is briefly unavailable; try again");

    expect(explain(error, subject).message).toContain("is briefly unavailable");
  });

  it("hints how to create a limit for reason `missing`, whatever the message says", ({ expect }) => {
    const missing = new ConcurrencySlotAcquisitionError("some words", {
      reason: "missing",
      names: ["db"],
      missing: ["db"],
    });
    const other = new ConcurrencySlotAcquisitionError("must be created", {
      reason: "unexpected_answer",
      names: ["db"],
    });

    expect(explain(missing, subject).hint).toContain("gcl create NAME --limit N");
    expect(explain(other, subject).hint).toBeUndefined();
  });
});
