/**
 * A real browser for the web view's tests and benchmarks: Debian's chromium driven by
 * playwright-core (Playwright's own browser download is not used). Headless, no sandbox (tests
 * may run as root), nothing that talks to the network by itself, and a fresh empty profile.
 * A test that needs it skips with the reason when chromium or playwright-core is absent.
 *
 * @module
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BrowserContext } from "playwright-core";

const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => existsSync(p));

function hasPlaywright(): boolean {
  try {
    createRequire(import.meta.url).resolve("playwright-core");
    return true;
  } catch {
    return false;
  }
}

export const NO_BROWSER = !CHROMIUM
  ? "chromium is not installed (apt-get install chromium to run the web view's browser tests)"
  : !hasPlaywright()
    ? "playwright-core is not installed"
    : false;

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<Browser> {
  const { chromium } = await import("playwright-core");
  const profile = mkdtempSync(join(tmpdir(), "loopkube-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM ?? "",
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    viewport: { width: 1400, height: 900 },
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
