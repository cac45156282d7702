/**
 * `LeaseDirectory`: maps the UUID lease ids handed to Prefect's client to this service's own
 * lease ids (DESIGN §7.5). Prefect parses `lease_id` as a UUID, and a UUID cannot name the limits
 * a lease covers, so Prefect's acquire, renew and release pay one call here. The directory is
 * sharded by the UUID's first two hex digits (256 objects, see `src/prefect/lease-ids.ts`), so no
 * single object is a hot spot. This project's own client never comes here.
 *
 * A row lives as long as its lease, plus a grace period: renew extends it, release takes it, and
 * an alarm at the earliest expiry reclaims the rest. A row past its expiry is never answered.
 */

import { DurableObject } from "cloudflare:workers";

/** Kept past the lease's own expiry, so the directory never forgets a lease before its limits do. */
export const DIRECTORY_GRACE_MS = 60_000;

export class LeaseDirectory extends DurableObject<Env> {
  /** The clock. Tests replace it (through `runInDurableObject`) to drive expiry. */
  now: () => number = () => Date.now();

  readonly #sql: SqlStorage;
  /** When the alarm is set for, as this instance last set or read it; undefined until first read. */
  #alarmAt: number | null | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    this.#sql.exec(`CREATE TABLE IF NOT EXISTS leases (
      uuid TEXT PRIMARY KEY,
      lease_id TEXT NOT NULL,
      expires_at INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS leases_by_expiry ON leases (expires_at)`);
  }

  /** Records that `uuid` stands for `leaseId` until `expiresAt` (epoch ms) plus the grace. */
  async put(uuid: string, leaseId: string, expiresAt: number): Promise<void> {
    const until = expiresAt + DIRECTORY_GRACE_MS;
    this.#sql.exec("INSERT OR REPLACE INTO leases (uuid, lease_id, expires_at) VALUES (?, ?, ?)", uuid, leaseId, until);
    await this.#alarmNoLaterThan(until);
  }

  /** The lease id behind `uuid`, its row now kept until `expiresAt` plus the grace; null if unknown. */
  renew(uuid: string, expiresAt: number): string | null {
    const leaseId = this.#live(uuid)?.lease_id ?? null;
    if (leaseId !== null) {
      // Never shortens: a row may outlive its lease (it is reclaimed later), never the other way round.
      this.#sql.exec(
        "UPDATE leases SET expires_at = max(expires_at, ?) WHERE uuid = ?",
        expiresAt + DIRECTORY_GRACE_MS,
        uuid,
      );
    }
    return leaseId;
  }

  /** The row behind `uuid`, removed (a release); null if unknown. `expiresAt` is as given to `put`. */
  take(uuid: string): { leaseId: string; expiresAt: number } | null {
    const row = this.#live(uuid);
    this.#sql.exec("DELETE FROM leases WHERE uuid = ?", uuid);
    return row && { leaseId: row.lease_id, expiresAt: row.expires_at - DIRECTORY_GRACE_MS };
  }

  override async alarm(): Promise<void> {
    this.#sql.exec("DELETE FROM leases WHERE expires_at < ?", this.now());
    const next = this.#sql.exec<{ at: number | null }>("SELECT min(expires_at) AS at FROM leases").one().at;
    this.#alarmAt = null;
    if (next !== null) {
      await this.#setAlarm(next + 1);
    }
  }

  /** The row of `uuid` if it has not expired; an expired row is deleted on sight. */
  #live(uuid: string): { lease_id: string; expires_at: number } | null {
    const row = this.#sql
      .exec<{ lease_id: string; expires_at: number }>("SELECT lease_id, expires_at FROM leases WHERE uuid = ?", uuid)
      .toArray()[0];
    if (row === undefined) {
      return null;
    }
    if (row.expires_at < this.now()) {
      this.#sql.exec("DELETE FROM leases WHERE uuid = ?", uuid);
      return null;
    }
    return row;
  }

  /** Keeps the alarm at or before `at` + 1; the storage is read once per instance, not per grant. */
  async #alarmNoLaterThan(at: number): Promise<void> {
    if (this.#alarmAt === undefined) {
      this.#alarmAt = await this.ctx.storage.getAlarm();
    }
    if (this.#alarmAt === null || this.#alarmAt > at + 1) {
      await this.#setAlarm(at + 1);
    }
  }

  async #setAlarm(at: number): Promise<void> {
    await this.ctx.storage.setAlarm(at);
    this.#alarmAt = at;
  }
}
