/**
 * `CatalogObject`: the one global index of limits (`env.CATALOG.getByName("catalog")`): the UUID
 * ids Prefect clients address limits by, and paging for `POST /filter`. It is never on the
 * acquire, renew or release path, and it is not the authority on existence: each limit object is.
 * Every write carries the limit object's generation for the name (it rises with every create and
 * never repeats), so writes that arrive out of order — a delete racing a create — leave the index
 * as the newest generation says.
 */

import { DurableObject } from "cloudflare:workers";

/** The name of the single catalog instance. */
export const CATALOG_NAME = "catalog";

export class CatalogObject extends DurableObject<Env> {
  readonly #sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    ctx.blockConcurrencyWhile(async () => this.#migrate());
  }

  #migrate(): void {
    this.#sql.exec(`CREATE TABLE IF NOT EXISTS names (
      name TEXT PRIMARY KEY,
      id TEXT NOT NULL,
      generation INTEGER NOT NULL,
      deleted INTEGER NOT NULL
    )`);
    this.#sql.exec("CREATE INDEX IF NOT EXISTS names_by_id ON names (id)");
    const legacy = this.#sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'limits'").toArray();
    if (legacy.length > 0) {
      this.#sql.exec("INSERT OR IGNORE INTO names SELECT name, id, 0, 0 FROM limits");
      this.#sql.exec("DROP TABLE limits");
    }
  }

  /** Records that generation `generation` of `name` exists with `id`, unless a newer one is known. */
  put(name: string, id: string, generation: number): void {
    this.#sql.exec(
      `INSERT INTO names (name, id, generation, deleted) VALUES (?, ?, ?, 0)
       ON CONFLICT (name) DO UPDATE SET id = excluded.id, generation = excluded.generation, deleted = 0
       WHERE excluded.generation > names.generation`,
      name,
      id,
      generation,
    );
  }

  /** Records that generation `generation` of `name` was deleted, unless a newer one is known. */
  drop(name: string, generation: number): void {
    this.#sql.exec(
      `INSERT INTO names (name, id, generation, deleted) VALUES (?, '', ?, 1)
       ON CONFLICT (name) DO UPDATE SET deleted = 1, generation = excluded.generation
       WHERE excluded.generation >= names.generation`,
      name,
      generation,
    );
  }

  /** The name of the live limit with this id, or null. */
  resolve(id: string): string | null {
    return (
      this.#sql.exec<{ name: string }>("SELECT name FROM names WHERE id = ? AND deleted = 0", id).toArray()[0]?.name ??
      null
    );
  }

  /** A page of live names, sorted by name. */
  list(offset: number, limit: number): string[] {
    return this.#sql
      .exec<{ name: string }>("SELECT name FROM names WHERE deleted = 0 ORDER BY name LIMIT ? OFFSET ?", limit, offset)
      .toArray()
      .map((row) => row.name);
  }
}
