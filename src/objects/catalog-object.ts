/**
 * `CatalogObject`: the one global index of limits (`env.CATALOG.getByName("catalog")`). It owns
 * name uniqueness (409 on create), the UUID ids Prefect clients address limits by, and paging for
 * `POST /filter`. It is never on the acquire, renew or release path.
 */

import { DurableObject } from "cloudflare:workers";

/** The name of the single catalog instance. */
export const CATALOG_NAME = "catalog";

export type RegisterOutcome = { status: "registered" } | { status: "exists"; id: string };

export class CatalogObject extends DurableObject<Env> {
  readonly #sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    this.#sql.exec(`CREATE TABLE IF NOT EXISTS limits (
      id TEXT PRIMARY KEY,
      name TEXT NOT NULL UNIQUE
    )`);
  }

  /** Claims `name` for `id`, unless another id holds it. */
  register(name: string, id: string): RegisterOutcome {
    const existing = this.#sql.exec<{ id: string }>("SELECT id FROM limits WHERE name = ?", name).toArray()[0];
    if (existing) {
      return { status: "exists", id: existing.id };
    }
    this.#sql.exec("INSERT INTO limits (id, name) VALUES (?, ?)", id, name);
    return { status: "registered" };
  }

  /** Gives up `name`, only if `id` still holds it (a newer limit of the same name keeps it). */
  unregister(name: string, id: string): void {
    this.#sql.exec("DELETE FROM limits WHERE name = ? AND id = ?", name, id);
  }

  /** The name of the limit with this id, or null. */
  resolve(id: string): string | null {
    return this.#sql.exec<{ name: string }>("SELECT name FROM limits WHERE id = ?", id).toArray()[0]?.name ?? null;
  }

  /** A page of names, sorted by name. */
  list(offset: number, limit: number): string[] {
    return this.#sql
      .exec<{ name: string }>("SELECT name FROM limits ORDER BY name LIMIT ? OFFSET ?", limit, offset)
      .toArray()
      .map((row) => row.name);
  }
}
