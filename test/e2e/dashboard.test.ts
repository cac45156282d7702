/**
 * The dashboard in a real browser: headless Chromium (Debian's package, driven by playwright-core)
 * against the real Worker on a loopback port. Limits are created and deleted through the page,
 * leases are taken through the API, and the page must show them without a reload. Waits are
 * Playwright's auto-waiting locators and `expect.poll`, with generous timeouts as liveness bounds,
 * never wall-clock assertions.
 *
 * Skips, with a message, where Chromium is not installed; `.ci/run` installs it.
 * `npm run screenshots` also saves the README's screenshots to docs/.
 */

import { afterAll, afterEach, beforeAll, beforeEach, describe, it } from "vitest";
import type { Browser, BrowserContext, Locator, Page } from "playwright-core";
import { CHROMIUM_PATH, chromiumInstalled, launchChromium, watchPageProblems } from "../helpers/browser";
import { callApi, eventually, sleep, uniqueName } from "../helpers/common";
import { useLocalWorker } from "../helpers/local-worker";

const PREFIX = "/api/v2/concurrency_limits";
/** A Worker the page talks to. */
type Worker = { readonly url: string };
/** Liveness bound for anything the page must show: polls run every 1.5 s. */
const SHOWS_WITHIN_MS = 15_000;
/** Where `npm run screenshots` saves the README's pictures; unset in normal runs. */
const SCREENSHOT_DIR = process.env.DASHBOARD_SCREENSHOTS;

const hasChromium = chromiumInstalled();
if (!hasChromium) {
  console.warn(
    `[dashboard e2e] SKIPPED: Chromium is not installed at ${CHROMIUM_PATH}. ` +
      "Install Debian's package (apt-get install chromium) to run the browser tests; .ci/run does.",
  );
}

/** Takes a lease and returns its id; fails the test on anything but a grant. */
async function takeLease(
  worker: Worker,
  name: string,
  slots: number,
  holder: { type: string; id: string },
  token?: string,
): Promise<string> {
  const body = { names: [name], slots, holder, lease_duration: 300 };
  const answer = await callApi(worker.url, "POST", "/increment-with-lease", body, token);
  const leaseId = (answer.body as { lease_id?: unknown } | null)?.lease_id;
  if (answer.status !== 200 || typeof leaseId !== "string") {
    throw new Error(`lease on ${name} refused: ${answer.status} ${JSON.stringify(answer.body)}`);
  }
  return leaseId;
}

/** Polls `check` every 50 ms until it holds; `SHOWS_WITHIN_MS` is a liveness bound. */
function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
  return eventually(check, { timeoutMs: SHOWS_WITHIN_MS, intervalMs: 50, what });
}

/** The list's row for a limit, found by its name link. */
function limitRow(page: Page, name: string): Locator {
  return page.locator("#limits-body tr").filter({ has: page.getByRole("link", { name, exact: true }) });
}

/** The "New limit" panel of the list view. */
function createPanel(page: Page): Locator {
  return page.getByRole("region", { name: "Create a limit" });
}

/** The admin "Settings" panel of the detail view. */
function settingsPanel(page: Page): Locator {
  return page.getByRole("region", { name: "Settings" });
}

function holderRow(page: Page, holderId: string): Locator {
  return page.locator("#holders-body tr").filter({ hasText: holderId });
}

describe.skipIf(!hasChromium)("the dashboard in headless Chromium", () => {
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let problems: string[];

  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });
  // A new context per test: its own session storage, so no token carries over.
  beforeEach(async () => {
    context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
    page = await context.newPage();
    page.setDefaultTimeout(SHOWS_WITHIN_MS);
    problems = watchPageProblems(page);
  });
  afterEach(async ({ expect }) => {
    await context.close();
    expect(problems).toEqual([]);
  });

  describe("with anonymous access, as under npm run dev", () => {
    const worker = useLocalWorker();

    it("creates a limit through the page, shows leases and holders live, and deletes it through the page", async ({
      expect,
    }) => {
      // A space and a non-ASCII letter: the page must encode names in paths and links.
      const name = uniqueName("dash é");
      await page.goto(`${worker.url}/`);
      await expect.poll(() => page.locator("#session-note").textContent()).toContain("anonymous");

      const create = createPanel(page);
      await create.getByText("New limit").click();
      await create.getByLabel("Name", { exact: true }).fill(name);
      await create.getByLabel("Slots (limit)").fill("3");
      await create.getByRole("button", { name: "Create limit" }).click();
      const row = limitRow(page, name);
      await row.waitFor();
      await page
        .getByRole("status")
        .filter({ hasText: `Created limit “${name}”` })
        .waitFor();
      const bar = row.getByRole("progressbar");
      expect(await bar.getAttribute("aria-valuenow")).toBe("0");
      expect(await bar.getAttribute("aria-valuemax")).toBe("3");
      expect(await row.locator(".badge").textContent()).toBe("active");
      // Anything that survives to the end proves the page never reloaded.
      await page.evaluate("window.sameDocument = true");

      const first = await takeLease(worker, name, 2, { type: "job", id: "nightly-report" });
      await row.getByText("2 / 3", { exact: true }).waitFor();
      expect(await bar.getAttribute("aria-valuenow")).toBe("2");

      await row.getByRole("link", { name, exact: true }).click();
      await page.getByRole("heading", { level: 2, name, exact: true }).waitFor();
      const firstHolder = holderRow(page, "nightly-report");
      await firstHolder.waitFor();
      expect(await firstHolder.locator("td").nth(1).textContent()).toBe("2");
      expect(await firstHolder.locator("time").nth(1).textContent()).toMatch(/^in [45] min/);

      // While the detail view is open, a second holder appears and the first one goes, live.
      await takeLease(worker, name, 1, { type: "task_run", id: "resize-images" });
      await holderRow(page, "resize-images").waitFor();
      await page.locator("#detail-meter").getByText("3 / 3", { exact: true }).waitFor();
      await callApi(worker.url, "POST", "/decrement-with-lease", { lease_id: first });
      await firstHolder.waitFor({ state: "detached" });
      await page.locator("#detail-meter").getByText("1 / 3", { exact: true }).waitFor();

      await page.getByRole("button", { name: "Delete…" }).click();
      const dialog = page.getByRole("dialog");
      await dialog.waitFor();
      expect(await dialog.textContent()).toContain("its 1 lease revoked");
      await dialog.getByRole("button", { name: "Delete", exact: true }).click();
      await page.getByRole("heading", { level: 2, name: /^Limits/ }).waitFor();
      await page
        .getByRole("status")
        .filter({ hasText: `Deleted limit “${name}”` })
        .waitFor();
      await row.waitFor({ state: "detached" });
      expect((await callApi(worker.url, "GET", `/${encodeURIComponent(name)}`)).status).toBe(404);
      expect(await page.evaluate("window.sameDocument")).toBe(true);
    });

    it("edits, disables and re-enables a limit through its detail view", async ({ expect }) => {
      const name = uniqueName("edit");
      expect((await callApi(worker.url, "POST", "/", { name, limit: 2 })).status).toBe(201);
      await page.goto(`${worker.url}/#limit/${encodeURIComponent(name)}`);
      await page.getByRole("heading", { level: 2, name, exact: true }).waitFor();
      const settings = settingsPanel(page);
      await expect.poll(() => settings.getByLabel("Slots (limit)").inputValue()).toBe("2");

      await settings.getByLabel("Slots (limit)").fill("7");
      await settings.getByLabel("Decay per second").fill("0.5");
      await settings.getByRole("button", { name: "Save" }).click();
      await page.locator("#detail-meter").getByText("0 / 7", { exact: true }).waitFor();
      const record = (await callApi(worker.url, "GET", `/${encodeURIComponent(name)}`)).body;
      expect(record).toMatchObject({ limit: 7, slot_decay_per_second: 0.5, active: true });

      await settings.getByRole("button", { name: "Disable" }).click();
      await page.locator("#detail-status").getByText("inactive", { exact: true }).waitFor();
      expect((await callApi(worker.url, "GET", `/${encodeURIComponent(name)}`)).body).toMatchObject({ active: false });
      await settings.getByRole("button", { name: "Enable" }).click();
      await page.locator("#detail-status").getByText("active", { exact: true }).waitFor();

      await settings.getByRole("button", { name: "Delete…" }).click();
      await page.getByRole("dialog").getByRole("button", { name: "Cancel" }).click();
      expect((await callApi(worker.url, "GET", `/${encodeURIComponent(name)}`)).status).toBe(200);
      await callApi(worker.url, "DELETE", `/${encodeURIComponent(name)}`);
    });

    it("shows the API's error in the page when a create is refused", async ({ expect }) => {
      const name = uniqueName("taken");
      expect((await callApi(worker.url, "POST", "/", { name, limit: 1 })).status).toBe(201);
      await page.goto(`${worker.url}/`);
      const create = createPanel(page);
      await create.getByText("New limit").click();
      await create.getByLabel("Name", { exact: true }).fill(name);
      await create.getByRole("button", { name: "Create limit" }).click();
      await create.getByText(`A limit named “${name}” already exists (409 already_exists)`).waitFor();
      // The form keeps what was typed, to fix and resend.
      expect(await create.getByLabel("Name", { exact: true }).inputValue()).toBe(name);
      await callApi(worker.url, "DELETE", `/${encodeURIComponent(name)}`);
    });

    it("says so when the limit in the address does not exist", async () => {
      await page.goto(`${worker.url}/#limit/${encodeURIComponent(uniqueName("never created"))}`);
      await page.getByText("There is no limit of this name").waitFor();
    });

    it("charts a limit's last hour, live: utilization, waiting, grants vs refusals, wait time", async ({ expect }) => {
      const name = uniqueName("charted");
      expect((await callApi(worker.url, "POST", "/", { name, limit: 1 })).status).toBe(201);
      await takeLease(worker, name, 1, { type: "job", id: "hog" });
      expect((await callApi(worker.url, "POST", "/increment-with-lease", { names: [name], slots: 1 })).status).toBe(
        423,
      );
      // History is read every 5 s, on top of the 1.5 s poll: a wider liveness bound on a busy machine.
      page.setDefaultTimeout(2 * SHOWS_WITHIN_MS);
      await page.goto(`${worker.url}/#limit/${encodeURIComponent(name)}`);
      const panel = page.getByRole("region", { name: "Last hour" });
      await panel.getByText(`Limit '${name}', last hour: saturated in 1 of 360 10 s buckets`).waitFor();
      await panel.getByText("1 grants, 1 refusals (0 after waiting)").waitFor();
      await panel
        .getByRole("img", { name: /^Utilization, last hour: peak 100%, saturated in 1 of 360 buckets/ })
        .waitFor();
      await panel.getByRole("img", { name: /^Waiting requests, last hour: at most 0 at once/ }).waitFor();
      await panel.getByRole("img", { name: /^Wait time, last hour: worst p95 \d+ ms/ }).waitFor();
      const traffic = panel.getByRole("img", { name: /^Grants and refusals, last hour/ });
      expect(await traffic.getAttribute("aria-label")).toBe("Grants and refusals, last hour: 1 granted, 1 refused");
      // Live: a refusal made now shows up without a reload.
      await page.evaluate("window.sameDocument = true");
      expect((await callApi(worker.url, "POST", "/increment-with-lease", { names: [name], slots: 1 })).status).toBe(
        423,
      );
      await panel.getByRole("img", { name: "Grants and refusals, last hour: 1 granted, 2 refused" }).waitFor();
      expect(await page.evaluate("window.sameDocument")).toBe(true);
      await callApi(worker.url, "DELETE", `/${encodeURIComponent(name)}`);
    });

    it("counts refusals over the last hour instead of a decaying gauge, with a sparkline per limit", async ({
      expect,
    }) => {
      const name = uniqueName("refused");
      expect((await callApi(worker.url, "POST", "/", { name, limit: 2 })).status).toBe(201);
      await takeLease(worker, name, 2, { type: "job", id: "full" });
      for (let i = 0; i < 3; i++) {
        expect((await callApi(worker.url, "POST", "/increment-with-lease", { names: [name], slots: 1 })).status).toBe(
          423,
        );
      }
      await page.goto(`${worker.url}/`);
      const row = limitRow(page, name);
      const refused = row.locator("td[data-label='Refused (1 h)']");
      await refused.getByText("3", { exact: true }).waitFor();
      // A decaying gauge would read 0 a few seconds later; a count over the hour does not.
      const polledAt = await page.locator("#live").textContent();
      await waitFor(async () => (await page.locator("#live").textContent()) !== polledAt, "another poll");
      await sleep(3000);
      expect(await refused.textContent()).toBe("3");
      expect(await refused.getAttribute("title")).toBe("3 refused and 1 granted in the last hour");
      await row.getByRole("img", { name: `${name}, last hour: peak 2 of 2 slots` }).waitFor();
      await callApi(worker.url, "DELETE", `/${encodeURIComponent(name)}`);
    });

    it("shows — for an occupancy never measured, and the measured one once a slot is released", async ({ expect }) => {
      const name = uniqueName("fresh");
      expect((await callApi(worker.url, "POST", "/", { name, limit: 2 })).status).toBe(201);
      await page.goto(`${worker.url}/#limit/${encodeURIComponent(name)}`);
      const occupancy = page.locator("#detail-settings dt").filter({ hasText: "Average occupancy" }).locator("+ dd");
      await occupancy.getByText("— (no slot released yet)").waitFor();
      const lease = await takeLease(worker, name, 1, { type: "job", id: "short" });
      await callApi(worker.url, "POST", "/decrement-with-lease", { lease_id: lease });
      await expect.poll(() => occupancy.textContent(), { timeout: SHOWS_WITHIN_MS }).toMatch(/^\d+(\.\d)? s$/);
      await callApi(worker.url, "DELETE", `/${encodeURIComponent(name)}`);
    });

    it("fits a phone-width screen without sideways scrolling", async ({ expect }) => {
      const seeded = await seedShowcase(worker);
      try {
        await page.setViewportSize({ width: 1100, height: 520 });
        await page.goto(`${worker.url}/`);
        await limitRow(page, "gpu-pool").locator("td[data-label='Waiting']").getByText("1", { exact: true }).waitFor();
        await limitRow(page, "db-pool").getByText("7 / 10", { exact: true }).waitFor();
        // Every row's bar is as wide as the others, whatever its count reads.
        const widths = await page
          .locator("#limits-body .bar")
          .evaluateAll((bars) => bars.map((bar) => bar.getBoundingClientRect().width));
        expect(widths.length).toBeGreaterThanOrEqual(5);
        expect(Math.max(...widths) - Math.min(...widths)).toBeLessThan(1);
        await limitRow(page, "gpu-pool").getByRole("img", { name: "gpu-pool, last hour: peak 2 of 2 slots" }).waitFor();
        // The full GPU pool's page lists who waits, head first.
        await page.goto(`${worker.url}/#limit/gpu-pool`);
        const waiter = page.locator("#waiters-body tr").filter({ hasText: "eval-9" });
        await waiter.waitFor();
        expect(await waiter.locator("td[data-label='Place']").textContent()).toBe("1");
        expect(await waiter.locator("td[data-label='Mode']").textContent()).toBe("concurrency");
        await page.goto(`${worker.url}/`);
        await limitRow(page, "db-pool").getByText("7 / 10", { exact: true }).waitFor();
        if (SCREENSHOT_DIR) {
          await page.screenshot({ path: `${SCREENSHOT_DIR}/dashboard.png`, fullPage: true });
          await page.goto(`${worker.url}/#limit/gpu-pool`);
          await page.getByRole("img", { name: /^Utilization, last hour: peak 100%/ }).waitFor();
          await page.screenshot({ path: `${SCREENSHOT_DIR}/dashboard-limit.png`, fullPage: true });
          await page.goto(`${worker.url}/`);
          await limitRow(page, "db-pool").getByText("7 / 10", { exact: true }).waitFor();
        }

        await page.setViewportSize({ width: 390, height: 844 });
        const overflow = "document.documentElement.scrollWidth - document.documentElement.clientWidth";
        expect(await page.evaluate<number>(overflow)).toBeLessThanOrEqual(0);
        await limitRow(page, "db-pool").getByRole("link", { name: "db-pool", exact: true }).click();
        await holderRow(page, "ingest-7f3a").waitFor();
        expect(await page.evaluate<number>(overflow)).toBeLessThanOrEqual(0);
        if (SCREENSHOT_DIR) {
          await page.screenshot({ path: `${SCREENSHOT_DIR}/dashboard-phone.png`, fullPage: true });
        }
      } finally {
        await seeded.cleanUp();
      }
    });
  });

  describe("with auth on", () => {
    const ADMIN = "admin-secret-for-the-dashboard";
    const CLIENT = "client-secret-for-the-dashboard";
    const worker = useLocalWorker({ GCL_ADMIN_TOKEN: ADMIN, GCL_CLIENT_TOKEN: CLIENT });
    const name = uniqueName("guarded");

    beforeAll(async () => {
      const created = await callApi(worker.url, "POST", "/", { name, limit: 4 }, ADMIN);
      if (created.status !== 201) {
        throw new Error(`creating ${name} failed: ${created.status}`);
      }
    });

    async function signIn(token: string): Promise<void> {
      await page.getByLabel("Admin or client token").fill(token);
      await page.getByRole("button", { name: "Use token" }).click();
    }

    it("asks for a token, says why a wrong one failed, and keeps a good one for the tab", async ({ expect }) => {
      await page.goto(`${worker.url}/`);
      const prompt = page.getByRole("region", { name: "API token" });
      await prompt.getByText("missing bearer token").waitFor();
      // Signed out, the page says so and shows nothing it cannot vouch for.
      await prompt.getByText("Signed out: this Worker needs a token to show its limits.").waitFor();
      expect(await page.locator("#session-note").textContent()).toBe("Signed out");
      expect(await page.locator("#live").textContent()).toBe("Signed out: needs a token");
      expect(await page.locator("#list-view").isHidden()).toBe(true);

      await signIn("not-the-token");
      await prompt.getByText("invalid bearer token").waitFor();

      await signIn(ADMIN);
      await limitRow(page, name).waitFor();
      expect(await prompt.isHidden()).toBe(true);
      expect(await page.locator("#list-view").isVisible()).toBe(true);
      expect(await page.locator("#session-note").textContent()).toBe("Token set");

      await page.reload();
      await limitRow(page, name).waitFor();
      expect(await prompt.isHidden()).toBe(true);

      await page.getByRole("button", { name: "Forget token" }).click();
      await prompt.getByText("missing bearer token").waitFor();
    });

    it("shows a read-only view with the client token", async ({ expect }) => {
      await takeLease(worker, name, 1, { type: "job", id: "behind-auth" }, CLIENT);
      await page.goto(`${worker.url}/`);
      await signIn(CLIENT);
      await limitRow(page, name).getByText("1 / 4", { exact: true }).waitFor();
      await expect.poll(() => page.locator("#session-note").textContent()).toBe("Client token: read-only");
      expect(await createPanel(page).isHidden()).toBe(true);

      await limitRow(page, name).getByRole("link", { name, exact: true }).click();
      await page.getByText("Listing holders needs the admin token.").waitFor();
      expect(await settingsPanel(page).isHidden()).toBe(true);
    });
  });
});

/**
 * A few limits in varied states, as an operator would see them: busy, full with a waiter, a rate
 * limit, an idle one and a disabled one.
 */
async function seedShowcase(worker: Worker): Promise<{ cleanUp(): Promise<void> }> {
  const limits = [
    { name: "db-pool", limit: 10 },
    { name: "gpu-pool", limit: 2 },
    { name: "openai-api", limit: 60, slot_decay_per_second: 1, denied_slots: 14 },
    { name: "search-index", limit: 4 },
    { name: "tag:legacy-etl", limit: 3, active: false },
  ];
  for (const limit of limits) {
    const answer = await callApi(worker.url, "POST", "/", limit);
    if (answer.status !== 201) {
      throw new Error(`seeding ${limit.name} failed: ${answer.status} ${JSON.stringify(answer.body)}`);
    }
  }
  await takeLease(worker, "db-pool", 4, { type: "flow_run", id: "ingest-7f3a" });
  await takeLease(worker, "db-pool", 2, { type: "task_run", id: "reindex-b21c" });
  await takeLease(worker, "db-pool", 1, { type: "worker", id: "edge-fra-03" });
  await takeLease(worker, "gpu-pool", 2, { type: "flow_run", id: "train-resnet-41" });
  await takeLease(worker, "search-index", 1, { type: "job", id: "crawler" });
  // Two callers turned away from the full GPU pool: the charts show them as refusals.
  for (let i = 0; i < 2; i++) {
    await callApi(worker.url, "POST", "/increment-with-lease", { names: ["gpu-pool"], slots: 1 });
  }
  const rate = await callApi(worker.url, "POST", "/increment", {
    names: ["openai-api"],
    slots: 23,
    mode: "rate_limit",
  });
  if (rate.status !== 200) {
    throw new Error(`seeding openai-api failed: ${rate.status}`);
  }
  // One request waits for the full GPU pool until the test is over.
  const waiter = new AbortController();
  const waiting = fetch(`${worker.url}${PREFIX}/increment-with-lease`, {
    method: "POST",
    body: JSON.stringify({
      names: ["gpu-pool"],
      slots: 1,
      wait_seconds: 60,
      holder: { type: "flow_run", id: "eval-9" },
    }),
    signal: waiter.signal,
  }).then(
    async (answer) => {
      if (!waiter.signal.aborted) {
        throw new Error(`the GPU pool's waiter was answered early: ${answer.status} ${await answer.text()}`);
      }
    },
    () => undefined,
  );
  await waitFor(async () => {
    const leases = await callApi(worker.url, "GET", "/gpu-pool/leases");
    return (leases.body as { waiting?: unknown } | null)?.waiting === 1;
  }, "the GPU pool's waiter to queue");
  return {
    async cleanUp() {
      waiter.abort();
      await waiting;
      for (const limit of limits) {
        await callApi(worker.url, "DELETE", `/${encodeURIComponent(limit.name)}`);
      }
    },
  };
}
