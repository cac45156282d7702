/**
 * `listAllLimits()`, shared by `gcl ls` and the dashboard: pages through `list` until a short
 * page, keeping each name once when a limit created between two pages shifts the paging.
 */

import { describe, it } from "vitest";
import type { FilterBody, LimitRecord } from "../../src/client";
import { listAllLimits } from "../../src/client/limits";
import { MAX_PAGE_SIZE } from "../../src/protocol/constants";

const record = (name: string, id = `id-${name}`) => ({ id, name, limit: 1 }) as LimitRecord;
const names = (count: number, from = 0) =>
  Array.from({ length: count }, (_, index) => `n${String(from + index).padStart(4, "0")}`);

describe("listAllLimits", () => {
  it("reads pages of MAX_PAGE_SIZE until one comes back short", async ({ expect }) => {
    const all = names(MAX_PAGE_SIZE + 5).map((name) => record(name));
    const asked: FilterBody[] = [];
    const list = async (page: FilterBody = {}) => {
      asked.push(page);
      const offset = page.offset ?? 0;
      return all.slice(offset, offset + (page.limit ?? MAX_PAGE_SIZE));
    };

    expect(await listAllLimits({ list })).toEqual(all);
    expect(asked).toEqual([
      { limit: MAX_PAGE_SIZE, offset: 0 },
      { limit: MAX_PAGE_SIZE, offset: MAX_PAGE_SIZE },
    ]);
  });

  it("keeps a name once, with its latest record, when the pages overlap", async ({ expect }) => {
    const first = names(MAX_PAGE_SIZE).map((name) => record(name));
    const last = first.at(-1) as LimitRecord;
    // A limit created before the second page pushed the first page's last record onto it.
    const recreated = record(last.name, "id-recreated");
    const pages = [first, [recreated, record("z")]];
    const list = async (page: FilterBody = {}) => pages[(page.offset ?? 0) / MAX_PAGE_SIZE] ?? [];

    const listed = await listAllLimits({ list });

    expect(listed).toHaveLength(MAX_PAGE_SIZE + 1);
    expect(listed.filter((limit) => limit.name === last.name)).toEqual([recreated]);
    expect(listed.at(-1)?.name).toBe("z");
  });
});
