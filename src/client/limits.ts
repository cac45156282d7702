/**
 * Administration of limits (`client.limits.*`): create, read, list, update, delete, enable,
 * disable and the lease listing, typed with the protocol's wire types (snake_case, as the API).
 * Every failure is a `GclError` carrying the server's `code`; an unreachable service is code
 * `unavailable`.
 */

import { GclError } from "../protocol/errors";
import type { CreateLimitBody, FilterBody, LimitLeases, LimitRecord, UpdateLimitBody } from "../protocol/types";
import { type Http, type HttpAnswer, toGclError, unreachable, UnreachableError } from "./http";
import { got } from "./validate";
import type { HistoryResolution, LimitHistory, MetricsSnapshot } from "../protocol/observe";

/** Per-call options of the administration calls. */
export interface AdminCallOptions {
  /** Aborts the call; it then rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

/** `client.limits`: every call throws a `GclError` with the server's `code` on failure. */
export interface LimitsApi {
  /** Creates a limit. `already_exists` (409) if the name is taken, `invalid_request` (422). */
  create(limit: CreateLimitBody, options?: AdminCallOptions): Promise<LimitRecord>;
  /** Reads a limit by name or id. `not_found` (404). */
  get(idOrName: string, options?: AdminCallOptions): Promise<LimitRecord>;
  /** One page of limits, sorted by name (`limit` 0–200, default 200; `offset` default 0). */
  list(page?: FilterBody, options?: AdminCallOptions): Promise<LimitRecord[]>;
  /** Changes any of `limit`, `active`, `slot_decay_per_second`, `active_slots`, `denied_slots`. */
  update(idOrName: string, patch: UpdateLimitBody, options?: AdminCallOptions): Promise<void>;
  /** Deletes a limit and revokes its leases (their holders lose them at the next renewal). */
  delete(idOrName: string, options?: AdminCallOptions): Promise<void>;
  /** `update(idOrName, { active: true })`. */
  enable(idOrName: string, options?: AdminCallOptions): Promise<void>;
  /** `update(idOrName, { active: false })`: the limit then admits everything without counting. */
  disable(idOrName: string, options?: AdminCallOptions): Promise<void>;
  /** Who holds the limit's slots, and how many requests wait. Needs the admin token. */
  leases(idOrName: string, options?: AdminCallOptions): Promise<LimitLeases>;
  /** observe(#14): the limit's history, every bucket of the last hour (`10s`) or day (`1m`). */
  history(idOrName: string, options?: AdminCallOptions & { resolution?: HistoryResolution }): Promise<LimitHistory>;
  /** observe(#14): every limit's levels and lifetime counters (`GET /metrics?format=json`). Admin token. */
  metrics(options?: AdminCallOptions & { offset?: number }): Promise<MetricsSnapshot>;
}

export function createLimitsApi(http: Http): LimitsApi {
  async function call(
    method: string,
    path: string,
    body: unknown,
    options: AdminCallOptions & { fromRoot?: boolean } = {},
  ): Promise<HttpAnswer> {
    let answer: HttpAnswer;
    try {
      answer = await http.send(method, path, { body, signal: options.signal, fromRoot: options.fromRoot ?? false });
    } catch (error) {
      throw error instanceof UnreachableError ? unreachable(error) : error;
    }
    if (answer.status < 200 || answer.status >= 300) {
      throw toGclError(answer);
    }
    return answer;
  }

  /** Reads a JSON answer body; the protocol module's types describe it. */
  async function read<T>(method: string, path: string, body: unknown, options?: AdminCallOptions & { fromRoot?: boolean }): Promise<T> {
    const answer = await call(method, path, body, options);
    if (typeof answer.body !== "object" || answer.body === null) {
      throw new GclError("internal", `unexpected answer to ${method} ${path}: ${got(answer.body)}`);
    }
    return answer.body as T;
  }

  const update = async (idOrName: string, patch: UpdateLimitBody, options?: AdminCallOptions): Promise<void> => {
    await call("PATCH", limitPath(idOrName), patch, options);
  };

  // Async arrows: a bad argument rejects like every other failure instead of throwing.
  return {
    create: async (limit, options) => read<LimitRecord>("POST", "/", limit, options),
    get: async (idOrName, options) => read<LimitRecord>("GET", limitPath(idOrName), undefined, options),
    list: async (page = {}, options) => read<LimitRecord[]>("POST", "/filter", page, options),
    update,
    delete: async (idOrName, options) => {
      await call("DELETE", limitPath(idOrName), undefined, options);
    },
    enable: async (idOrName, options) => update(idOrName, { active: true }, options),
    disable: async (idOrName, options) => update(idOrName, { active: false }, options),
    leases: async (idOrName, options) => read<LimitLeases>("GET", `${limitPath(idOrName)}/leases`, undefined, options),
    history: async (idOrName, options = {}) =>
      read<LimitHistory>("GET", `${limitPath(idOrName)}/history?resolution=${options.resolution ?? "10s"}`, undefined, options),
    metrics: async (options = {}) =>
      read<MetricsSnapshot>("GET", `/metrics?format=json&offset=${options.offset ?? 0}`, undefined, { ...options, fromRoot: true }),
  };
}

function limitPath(idOrName: string): string {
  if (typeof idOrName !== "string" || idOrName === "") {
    throw new TypeError(`Expected \`idOrName\` to be a limit name or id, got ${got(idOrName)}`);
  }
  return `/${encodeURIComponent(idOrName)}`;
}
