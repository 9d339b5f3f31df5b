import { constants } from 'node:fs';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** Debian's chromium package: tests drive it instead of downloading a browser. */
export const CHROMIUM = '/usr/bin/chromium';

/** Headless, sandbox off (containers, root), and nothing that talks to the internet on its own. */
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/**
 * What callbacks that run inside the page use of its globals, for `globalThis as unknown as
 * PageGlobals` there: the test program is type-checked without the DOM lib, which would also
 * let Node code use browser globals.
 */
export interface PageGlobals {
  readonly document: {
    getElementById(id: string): PageElement | null;
    querySelectorAll(selector: string): ArrayLike<PageElement>;
    readonly documentElement: { readonly scrollWidth: number; readonly clientWidth: number };
  };
  getComputedStyle(element: PageElement): { readonly strokeDasharray: string };
  requestAnimationFrame(callback: () => void): number;
}

export interface PageElement {
  readonly textContent: string | null;
  getAttribute(name: string): string | null;
  getBoundingClientRect(): { readonly width: number };
}

export interface Browser {
  readonly context: BrowserContext;
  /** Closes the browser and removes its profile; safe to call twice. */
  close(): Promise<void>;
}

/**
 * Starts chromium with a fresh profile. Fails (never skips) when the binary is missing, so that
 * a CI machine without it cannot pass the browser tests by not running them.
 */
export async function launchChromium(viewport = { width: 1280, height: 800 }): Promise<Browser> {
  try {
    await access(CHROMIUM, constants.X_OK);
  } catch (err) {
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium; .ci/run does it when it is missing)`, { cause: err });
  }
  const profile = await mkdtemp(join(tmpdir(), 'koorde-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport });
  } catch (err) {
    await rm(profile, { recursive: true, force: true });
    throw err;
  }
  let closed = false;
  return {
    context,
    async close() {
      if (closed) return;
      closed = true;
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Everything that went wrong on a page, as it happens: console errors, uncaught exceptions,
 * failed or 4xx/5xx requests, and any request to another origin than `origin` (the dashboard
 * talks only to the node that serves it).
 */
export function watchPage(page: Page, origin: string): string[] {
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()} (${message.location().url})`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('request', (request) => {
    if (new URL(request.url()).origin !== origin) problems.push(`request to another origin: ${request.url()}`);
  });
  page.on('requestfailed', (request) => problems.push(`request failed: ${request.url()} (${request.failure()?.errorText})`));
  page.on('response', (response) => {
    if (response.status() >= 400) problems.push(`HTTP ${response.status()} for ${response.url()}`);
  });
  return problems;
}
