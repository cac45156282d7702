/**
 * What Prefect's client reads from error answers: a 422 carries Prefect's `exception_message`
 * and `exception_detail: [{loc, msg, type}]` beside `detail`, `code` and `errors` (Prefect's CLI
 * prints `exception_detail[0].msg`), and `/api/csrf-token` answers what the client handles
 * without a retry.
 */

import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, it } from "vitest";
import Worker from "../../src/index";
import { api, createLimit, takeLease, uniqueName } from "../helpers/api";

describe("422 bodies in Prefect's shape", () => {
  it("carries one exception_detail entry per field error, loc under body, beside detail/code/errors", async ({
    expect,
  }) => {
    const response = await api("POST", "/", { name: uniqueName(), limit: -1 });
    expect(response.status).toBe(422);
    const { body } = response;
    expect(body.code).toBe("invalid_request");
    expect(typeof body.detail).toBe("string");
    expect(body.errors.length).toBeGreaterThan(0);
    expect(body.exception_message).toBe("Invalid request received.");
    expect(body.exception_detail).toHaveLength(body.errors.length);
    body.errors.forEach((error: { path: string; message: string }, index: number) => {
      expect(body.exception_detail[index]).toEqual({
        loc: ["body", ...error.path.split(".")],
        msg: error.message,
        type: "invalid_request",
      });
    });
    expect(body.exception_detail[0].loc).toEqual(["body", "limit"]);
  });

  it("gives list positions as numbers in loc, as pydantic does", async ({ expect }) => {
    const response = await api("POST", "/increment", { names: ["ok", 7], slots: 1 });
    expect(response.status).toBe(422);
    expect(response.body.exception_detail.map((entry: { loc: unknown[] }) => entry.loc)).toContainEqual([
      "body",
      "names",
      1,
    ]);
  });

  it("explains a 422 without field errors in one entry about the body", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 1);
    const over = await takeLease([name], 2);
    expect(over.status).toBe(422);
    expect(over.body).toEqual({
      detail: "Slots requested is greater than the limit",
      code: "slots_exceed_limit",
      exception_message: "Invalid request received.",
      exception_detail: [
        { loc: ["body"], msg: "Slots requested is greater than the limit", type: "slots_exceed_limit" },
      ],
    });
    const json = await api("POST", "/", "{not json");
    expect(json.body.exception_detail[0].msg).toBe(json.body.detail);
  });

  it("leaves other statuses as they were", async ({ expect }) => {
    const missing = await api("GET", `/${uniqueName()}`);
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ detail: "Concurrency Limit not found", code: "not_found" });
  });
});

describe("GET /api/csrf-token", () => {
  it("answers 422 'CSRF protection is disabled.' without auth, so Prefect's client turns CSRF off", async ({
    expect,
  }) => {
    // Tokens configured and none sent: the route is public, as Prefect's is.
    const ctx = createExecutionContext();
    const secured = { ...env, GCL_ALLOW_ANONYMOUS: undefined, GCL_ADMIN_TOKEN: "admin-secret" };
    const request = new Request(`http://gcl.test/api/csrf-token?client=${crypto.randomUUID()}`);
    const response = await new Worker(ctx, secured).fetch(request);
    await waitOnExecutionContext(ctx);
    expect(response.status).toBe(422);
    const text = await response.text();
    // Prefect's client checks exactly this substring of the body (client/base.py).
    expect(text).toContain("CSRF protection is disabled.");
    expect(JSON.parse(text).code).toBe("invalid_request");
  });
});
