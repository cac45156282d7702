/**
 * A canned edge-gcl Worker as a `fetch` function, for the client and `gcl` without a Worker: a
 * few limits kept in memory, answering the calls `gcl run` and `gcl rate-limit` make (take under
 * a lease, renew, release, cancel, increment, read a record) with the API's statuses and bodies
 * (DESIGN §2). No line: a full limit answers 423 at once, with Retry-After. Every request is
 * recorded. Runtime-neutral.
 */

import type { FetchInit, FetchLike } from "../../src/client";
import { answer } from "./common";

export const CANNED_URL = "http://gcl.test";
const PREFIX = `${CANNED_URL}/api/v2/concurrency_limits`;

export interface CannedRequest {
  /** `METHOD path`, the path under the API prefix, e.g. `POST /increment-with-lease`. */
  line: string;
  body: Record<string, unknown>;
}

export interface CannedWorker {
  fetch: FetchLike;
  /** `METHOD path` of every request, in order. */
  readonly requests: string[];
  /** Every request with its JSON body, in order. */
  readonly sent: CannedRequest[];
  /** Slots held now on a limit. */
  held(name: string): number;
  /** Ends every lease behind its holders' backs, as deleting their limits does: renewals answer 410. */
  revokeLeases(): void;
  /** Makes every release answer 500 (a release that fails). */
  failReleases(): void;
}

function refusal(status: number, code: string, detail: string, headers: Record<string, string> = {}): Response {
  return answer(status, { detail, code }, headers);
}

/** A Worker where the limits named in `limits` exist, with these sizes and nobody holding them. */
export function cannedWorker(limits: Readonly<Record<string, number>>): CannedWorker {
  const requests: string[] = [];
  const sent: CannedRequest[] = [];
  const held = new Map<string, number>(Object.keys(limits).map((name) => [name, 0]));
  const leases = new Map<string, { names: string[]; slots: number }>();
  let nextLease = 1;
  let releasesFail = false;
  const exists = (name: string): boolean => Object.hasOwn(limits, name);
  const record = (name: string) => ({
    id: `id-${name}`,
    name,
    limit: limits[name],
    active: true,
    active_slots: held.get(name) ?? 0,
    denied_slots: 0,
    slot_decay_per_second: 0,
  });

  function take(names: string[], slots: number): Response {
    const present = names.filter(exists);
    if (present.some((name) => slots > (limits[name] ?? 0))) {
      return refusal(422, "slots_exceed_limit", "Slots requested is greater than the limit");
    }
    if (present.some((name) => (held.get(name) ?? 0) + slots > (limits[name] ?? 0))) {
      return refusal(423, "locked", "Locked", { "retry-after": "0.05" });
    }
    for (const name of present) {
      held.set(name, (held.get(name) ?? 0) + slots);
    }
    const leaseId = `lease-${nextLease++}`;
    leases.set(leaseId, { names: present, slots });
    return answer(200, {
      lease_id: leaseId,
      limits: present.map((name) => ({ ...record(name), fencing_token: 1 })),
      missing: names.filter((name) => !exists(name)),
      expires_at: new Date(Date.now() + 60_000).toISOString(),
    });
  }

  function release(leaseId: string): void {
    const lease = leases.get(leaseId);
    leases.delete(leaseId);
    for (const name of lease?.names ?? []) {
      held.set(name, (held.get(name) ?? 0) - (lease?.slots ?? 0));
    }
  }

  const fetch: FetchLike = async (url: string, init: FetchInit) => {
    const path = url.slice(PREFIX.length);
    const method = init.method ?? "GET";
    const body = typeof init.body === "string" ? (JSON.parse(init.body) as Record<string, unknown>) : {};
    requests.push(`${method} ${path}`);
    sent.push({ line: `${method} ${path}`, body });
    const names = Array.isArray(body.names) ? body.names.map(String) : [];
    const slots = typeof body.slots === "number" ? body.slots : 1;
    const renewal = /^\/leases\/([^/]+)\/renew$/.exec(path);
    if (method === "POST" && path === "/increment-with-lease") {
      return take(names, slots);
    }
    if (method === "POST" && renewal !== null) {
      const known = leases.has(decodeURIComponent(renewal[1] ?? ""));
      return known
        ? answer(204)
        : refusal(410, "lease_not_found", "Lease not found - it may have expired or been revoked");
    }
    if (method === "POST" && path === "/decrement-with-lease") {
      if (releasesFail) {
        return refusal(500, "internal", "Internal error");
      }
      release(String(body.lease_id));
      return answer(204);
    }
    if (method === "POST" && path === "/cancel") {
      return answer(204);
    }
    if (method === "POST" && path === "/increment") {
      return answer(200, names.filter(exists).map(record));
    }
    const name = decodeURIComponent(path.slice(1));
    if (method === "GET" && exists(name)) {
      return answer(200, record(name));
    }
    return refusal(404, "not_found", "Concurrency Limit not found");
  };

  return {
    fetch,
    requests,
    sent,
    held: (name) => held.get(name) ?? 0,
    revokeLeases() {
      for (const leaseId of [...leases.keys()]) {
        release(leaseId);
      }
    },
    failReleases() {
      releasesFail = true;
    },
  };
}
