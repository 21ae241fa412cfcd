import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createRequire } from "node:module";
import { chromium, type BrowserContext, type Page } from "playwright-core";

/** Debian's chromium package; the suite never downloads a browser. */
export const CHROMIUM_PATH = "/usr/bin/chromium";

/** Whether a local Chromium is installed (the browser suite skips, saying so, when it is not). */
export const chromiumInstalled = (): boolean => existsSync(CHROMIUM_PATH);

/** Starts headless Chromium with a fresh profile, offline-friendly flags and no sandbox (CI runs as root). */
export async function launchBrowser(): Promise<BrowserContext> {
  const profile = await mkdtemp(path.join(tmpdir(), "rollcall-chromium-"));
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    viewport: { width: 1280, height: 860 },
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

export type AxeViolation = { id: string; impact: string | null; help: string; nodes: Array<{ target: unknown }> };

/**
 * Runs axe-core in the page and returns its serious and critical violations. The source is
 * evaluated through the DevTools protocol, which the page's CSP does not govern, so the portal's
 * policy stays strict while it is checked.
 */
export async function seriousAxeViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(context: Document, options: object): Promise<{ violations: AxeViolation[] }> } }).axe;
    const result = await axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] } });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target })) }));
  });
  return violations.filter((v) => v.impact === "serious" || v.impact === "critical");
}

const SCREENSHOT_DIR = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../../docs/screenshots");

/** Saves a full-page PNG under docs/screenshots/ when ROLLCALL_SCREENSHOTS=1 (for the README). */
export async function screenshot(page: Page, name: string): Promise<void> {
  if (process.env.ROLLCALL_SCREENSHOTS !== "1") return;
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}
