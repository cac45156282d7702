/**
 * Headless Chromium for the browser tests: Debian's `chromium` package driven by playwright-core.
 * Never a browser download (`npx playwright install` cannot work offline). Node-side only: used
 * by the `e2e` vitest project.
 */

import { existsSync } from "node:fs";
import { type Browser, chromium, type Page } from "playwright-core";

/** Where Debian's `chromium` package puts the browser (`apt-get install chromium`). */
export const CHROMIUM_PATH = "/usr/bin/chromium";

export function chromiumInstalled(): boolean {
  return existsSync(CHROMIUM_PATH);
}

/**
 * Launches Chromium headless. Playwright gives every launch a new, empty user-data-dir. The flags
 * keep Chromium off the network: on a machine with no way out, its background connections (updates,
 * sync, QUIC probes) otherwise fail by the dozen at every start.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/**
 * Collects what a page reports as broken: uncaught exceptions, and console errors other than the
 * browser's own "Failed to load resource" lines (an API error status is expected in some tests,
 * and the page shows those itself).
 */
export function watchPageProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on("pageerror", (error) => problems.push(`uncaught: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) {
      problems.push(`console: ${message.text()}`);
    }
  });
  return problems;
}
