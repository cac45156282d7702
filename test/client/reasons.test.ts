/**
 * Every way `acquire()` fails carries a machine-readable `reason`, so callers (the CLI among them)
 * switch on it instead of reading messages. A canned `fetch`, no Worker.
 */

import { describe, it } from "vitest";
import {
  AcquireTimeoutError,
  type AcquisitionFailureReason,
  ConcurrencySlotAcquisitionError,
  createClient,
  type FetchLike,
  UnreachableError,
} from "../../src/client";
import { answer as json } from "../helpers/common";

const quiet = { warn: () => undefined, error: () => undefined };

/** The error `acquire(names, options)` rejects with, against a Worker that always answers `answer`. */
async function failure(
  answer: FetchLike,
  names: string[],
  options: Parameters<ReturnType<typeof createClient>["acquire"]>[1] = {},
) {
  const gcl = createClient({ url: "http://gcl.test", fetch: answer, retry: false, logger: quiet });
  try {
    await gcl.acquire(names, options);
  } catch (error) {
    return error;
  }
  throw new Error("acquire() resolved");
}

const grant = (missing: string[]) => ({
  lease_id: "lease-1",
  limits: [{ id: "id-db", name: "db", limit: 1, fencing_token: 1 }],
  missing,
  expires_at: "2026-01-01T00:01:00.000Z",
});

/** Answers `/increment-with-lease` with `first`; anything else (the release, a cancel) with 204. */
function worker(first: () => Response | Promise<Response>): FetchLike {
  return async (url) => (url.endsWith("/increment-with-lease") ? first() : json(204));
}

describe("ConcurrencySlotAcquisitionError.reason", () => {
  const cases: [AcquisitionFailureReason, FetchLike, string[], Record<string, unknown>][] = [
    [
      "refused",
      worker(() => json(422, { detail: "Slots requested is greater than the limit", code: "slots_exceed_limit" })),
      ["db"],
      {},
    ],
    ["missing", worker(() => json(200, grant(["dbb"]))), ["db", "dbb"], { strict: true }],
    [
      "unreachable",
      async () => {
        throw new TypeError("fetch failed");
      },
      ["db", "api"],
      {},
    ],
    ["max_retries", worker(() => json(423, { detail: "Locked", code: "locked" })), ["db"], { maxRetries: 0 }],
    ["timeout", worker(() => json(423, { detail: "Locked", code: "locked" })), ["db"], { timeoutSeconds: 0 }],
    ["unexpected_answer", worker(() => new Response("<html>hello</html>", { status: 200 })), ["db"], {}],
  ];

  it.for(cases)("is %s when that is why", async ([reason, fetch, names, options], { expect }) => {
    const error = await failure(fetch, names, options);

    expect(error).toBeInstanceOf(ConcurrencySlotAcquisitionError);
    expect((error as ConcurrencySlotAcquisitionError).reason).toBe(reason);
    expect(error instanceof AcquireTimeoutError).toBe(reason === "timeout");
  });

  it("lists the missing names, and gives back what was taken", async ({ expect }) => {
    const sent: string[] = [];
    const fetch: FetchLike = async (url, init) => {
      sent.push(`${init.method} ${new URL(url).pathname.split("/").at(-1)}`);
      return url.endsWith("/increment-with-lease") ? json(200, grant(["dbb"])) : json(204);
    };

    const error = (await failure(fetch, ["db", "dbb"], { strict: true })) as ConcurrencySlotAcquisitionError;

    expect(error.missing).toEqual(["dbb"]);
    expect(sent).toEqual(["POST increment-with-lease", "POST decrement-with-lease"]);
  });

  it("keeps the server's code with `refused`, and the network error as the cause with `unreachable`", async ({
    expect,
  }) => {
    const refused = (await failure(
      worker(() => json(422, { detail: "Slots requested is greater than the limit", code: "slots_exceed_limit" })),
      ["db"],
    )) as ConcurrencySlotAcquisitionError;
    const unreachable = (await failure(async () => {
      throw new TypeError("fetch failed");
    }, ["db", "api"])) as ConcurrencySlotAcquisitionError;

    expect([refused.code, refused.status]).toEqual(["slots_exceed_limit", 422]);
    expect(unreachable.code).toBeUndefined();
    expect(unreachable.cause).toBeInstanceOf(UnreachableError);
    expect(unreachable.missing).toEqual([]);
  });
});
