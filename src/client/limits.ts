/**
 * Administration of limits (`client.limits.*`): create, create-if-missing (`ensure`), read,
 * list, update, delete, enable, disable and the lease listing, typed with the protocol's wire
 * types (snake_case, as the API). Every failure is a `GclError` carrying the server's `code`; an
 * unreachable service is code `unavailable`.
 */

import { MAX_PAGE_SIZE } from "../protocol/constants";
import { GclError } from "../protocol/errors";
import type { CreateLimitBody, FilterBody, LimitLeases, LimitRecord, UpdateLimitBody } from "../protocol/types";
import { type HttpAnswer, refusalOf, toGclError, type Transport } from "./http";
import { type Refusal, request } from "./request";
import { got } from "../protocol/arguments";
import type { HistoryResolution, LimitHistory, MetricsSnapshot } from "../protocol/observe";

/** Per-call options of the administration calls. */
export interface AdminCallOptions {
  /** Aborts the call; it then rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

/** `client.limits`: every call throws a `GclError` with the server's `code` on failure. */
export interface LimitsApi {
  /**
   * Creates a limit. `already_exists` (409), its message naming the limit, if the name is taken;
   * `invalid_request` (422).
   */
  create(limit: CreateLimitBody, options?: AdminCallOptions): Promise<LimitRecord>;
  /**
   * Creates the limit unless one of that name exists, and resolves with its record either way:
   * safe to call on every start-up. An existing limit is left exactly as it is, even if its
   * settings differ from `limit` (its slots may be in use; compare the record, or call `update`).
   * `invalid_request` (422) for settings `create` would refuse.
   */
  ensure(limit: CreateLimitBody, options?: AdminCallOptions): Promise<LimitRecord>;
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
  /** The limit's history, every bucket of the last hour (`10s`) or day (`1m`). */
  history(idOrName: string, options?: AdminCallOptions & { resolution?: HistoryResolution }): Promise<LimitHistory>;
  /** Every limit's levels and lifetime counters (`GET /metrics?format=json`). Admin token. */
  metrics(options?: AdminCallOptions & { offset?: number }): Promise<MetricsSnapshot>;
}

type CallOptions = AdminCallOptions & { fromRoot?: boolean };

export function createLimitsApi(http: Transport): LimitsApi {
  const call = (
    method: string,
    path: string,
    body: unknown,
    options: CallOptions = {},
    refusal?: Refusal,
  ): Promise<HttpAnswer> =>
    request(http, method, path, { body, signal: options.signal, fromRoot: options.fromRoot ?? false }, refusal);

  /** Reads a JSON answer body; the protocol module's types describe it. */
  async function read<T>(
    method: string,
    path: string,
    body: unknown,
    options?: CallOptions,
    refusal?: Refusal,
  ): Promise<T> {
    const answer = await call(method, path, body, options, refusal);
    if (typeof answer.body !== "object" || answer.body === null) {
      throw new GclError("internal", `unexpected answer to ${method} ${path}: ${got(answer.body)}`);
    }
    return answer.body as T;
  }

  const update = async (idOrName: string, patch: UpdateLimitBody, options?: AdminCallOptions): Promise<void> => {
    await call("PATCH", limitPath(idOrName), patch, options);
  };

  /** `create`, with a 409 that names the limit and the ways out (the server's detail is generic). */
  const create = async (limit: CreateLimitBody, options?: AdminCallOptions): Promise<LimitRecord> =>
    read<LimitRecord>("POST", "/", limit, options, (answer) =>
      // Only the server's own code: a code this version does not know keeps the server's words.
      refusalOf(answer).code === "already_exists"
        ? new GclError(
            "already_exists",
            `Global concurrency limit '${limit.name}' already exists. Use limits.ensure() to create it only if it is missing, or limits.update() to change it.`,
            { cause: toGclError(answer) },
          )
        : undefined,
    );

  // Async arrows: a bad argument rejects like every other failure instead of throwing.
  return {
    create,
    ensure: async (limit, options) => {
      // Created, or found; a limit deleted between the two calls is created again (a few times).
      for (let attempt = 1; ; attempt += 1) {
        try {
          return await create(limit, options);
        } catch (error) {
          if (!(error instanceof GclError && error.code === "already_exists")) {
            throw error;
          }
        }
        try {
          return await read<LimitRecord>("GET", limitPath(limit.name), undefined, options);
        } catch (error) {
          if (!(error instanceof GclError && error.code === "not_found") || attempt >= ENSURE_ATTEMPTS) {
            throw error;
          }
        }
      }
    },
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
      read<LimitHistory>(
        "GET",
        `${limitPath(idOrName)}/history?resolution=${options.resolution ?? "10s"}`,
        undefined,
        options,
      ),
    metrics: async (options = {}) =>
      read<MetricsSnapshot>("GET", `/metrics?format=json&offset=${options.offset ?? 0}`, undefined, {
        ...options,
        fromRoot: true,
      }),
  };
}

/**
 * Every limit, in the server's order (by name): pages through `list` until a page comes back
 * short. A limit created or deleted between two pages shifts the rest, so each name is kept once
 * (its latest record). For the CLI's `ls` and the dashboard.
 */
export async function listAllLimits(
  limits: Pick<LimitsApi, "list">,
  options?: AdminCallOptions,
): Promise<LimitRecord[]> {
  const byName = new Map<string, LimitRecord>();
  for (let offset = 0; ; offset += MAX_PAGE_SIZE) {
    const page = await limits.list({ limit: MAX_PAGE_SIZE, offset }, options);
    for (const record of page) {
      byName.set(record.name, record);
    }
    if (page.length < MAX_PAGE_SIZE) {
      return [...byName.values()];
    }
  }
}

/** How many create-then-read rounds `ensure` makes while another caller deletes the limit. */
const ENSURE_ATTEMPTS = 3;

function limitPath(idOrName: string): string {
  if (typeof idOrName !== "string" || idOrName === "") {
    throw new TypeError(`Expected \`idOrName\` to be a limit name or id, got ${got(idOrName)}`);
  }
  return `/${encodeURIComponent(idOrName)}`;
}
