/**
 * `location_hint` on create: validated against Cloudflare's region hints, and passed to the limit
 * object's first `getByName` (local workerd ignores hints, so what is checked is that the hint
 * reaches the namespace, not where the object lands).
 */

import { env } from "cloudflare:workers";
import { describe, it } from "vitest";
import { createLimit } from "../../src/operations/limits";
import { api, uniqueName } from "../helpers/api";

/** The real env, with every `getByName` on LIMITS recorded. */
function recordingEnv() {
  const calls: { name: string; options: unknown }[] = [];
  const limits = new Proxy(env.LIMITS, {
    get(target, key) {
      if (key === "getByName") {
        return (name: string, options?: DurableObjectNamespaceGetDurableObjectOptions) => {
          calls.push({ name, options });
          return target.getByName(name, options);
        };
      }
      const value = Reflect.get(target, key);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { env: { ...env, LIMITS: limits }, calls };
}

describe("location_hint", () => {
  it("goes to the limit object's first getByName at create", async ({ expect }) => {
    const { env: spied, calls } = recordingEnv();
    const name = uniqueName();
    const record = await createLimit(spied, { name, limit: 1, location_hint: "weur" });
    expect(record).toMatchObject({ name, limit: 1 });
    expect(calls[0]).toEqual({ name, options: { locationHint: "weur" } });
  });

  it("is left out when not given", async ({ expect }) => {
    const { env: spied, calls } = recordingEnv();
    const name = uniqueName();
    await createLimit(spied, { name, limit: 1 });
    expect(calls[0]).toEqual({ name, options: undefined });
  });

  it("is accepted on POST / for every region", async ({ expect }) => {
    for (const hint of ["wnam", "enam", "sam", "weur", "eeur", "apac", "oc", "afr", "me"]) {
      const response = await api("POST", "/", { name: uniqueName(hint), limit: 1, location_hint: hint });
      expect(response.status).toBe(201);
    }
  });

  it("refuses an unknown region with a 422 naming the field and the allowed values", async ({ expect }) => {
    const response = await api("POST", "/", { name: uniqueName(), limit: 1, location_hint: "mars" });
    expect(response.status).toBe(422);
    expect(response.body.errors).toEqual([{ path: "location_hint", message: expect.stringContaining('"weur"') }]);
  });

  it("is stored and shown in the record: the hint, or null when unset", async ({ expect }) => {
    const [hinted, plain] = [uniqueName("hinted"), uniqueName("plain")];
    expect((await api("POST", "/", { name: hinted, limit: 1, location_hint: "apac" })).body.location_hint).toBe("apac");
    expect((await api("POST", "/", { name: plain, limit: 1 })).body.location_hint).toBeNull();
    expect((await api("GET", `/${hinted}`)).body.location_hint).toBe("apac");
    expect((await api("GET", `/${plain}`)).body.location_hint).toBeNull();
    await api("PATCH", `/${hinted}`, { limit: 2 });
    expect((await api("GET", `/${hinted}`)).body).toMatchObject({ limit: 2, location_hint: "apac" });
  });

  it("cannot be changed by PATCH (an object's place is chosen once)", async ({ expect }) => {
    const name = uniqueName();
    await api("POST", "/", { name, limit: 1 });
    const response = await api("PATCH", `/${name}`, { location_hint: "weur" });
    expect(response.status).toBe(422);
    expect(response.body.detail).toContain("location_hint");
  });
});
