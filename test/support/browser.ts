import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import puppeteer, { type Browser, type ConsoleMessage, type Page } from 'puppeteer-core';
import { isRoot } from '../../scripts/stack/processes';
import { ensureSystemBinary } from '../../scripts/stack/system-package';

/**
 * Debian's chromium, headless, on a throwaway profile: the browser the console
 * tests drive (puppeteer-core never downloads one). As root Chromium refuses
 * to start without --no-sandbox.
 */
export interface TestBrowser {
  browser: Browser;
  /** A fresh page that records what the console printed as errors and any uncaught exception. */
  page(): Promise<WatchedPage>;
  close(): Promise<void>;
}

export interface WatchedPage {
  page: Page;
  /** console.error lines, failed loads and uncaught exceptions, in order. */
  errors: string[];
}

export async function launchBrowser(): Promise<TestBrowser> {
  const executablePath = ensureSystemBinary('chromium', 'chromium');
  const profile = mkdtempSync(path.join(os.tmpdir(), 'tollgate-chromium-'));
  const browser = await puppeteer.launch({
    executablePath,
    headless: true,
    userDataDir: profile,
    args: [...(isRoot() ? ['--no-sandbox'] : []), '--disable-dev-shm-usage', '--no-first-run', '--no-default-browser-check'],
    protocolTimeout: 60_000,
  });
  const pid = browser.process()?.pid;
  return {
    browser,
    async page() {
      const page = await browser.newPage();
      page.setDefaultTimeout(20_000);
      const errors: string[] = [];
      page.on('console', (m: ConsoleMessage) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      page.on('pageerror', (err) => errors.push(`uncaught: ${err instanceof Error ? err.message : String(err)}`));
      return { page, errors };
    },
    async close() {
      await Promise.race([browser.close().catch(() => undefined), new Promise((r) => setTimeout(r, 5_000).unref())]);
      // Chromium's own child processes follow its main one; a main process that did not exit in time is ended by its id.
      if (pid !== undefined && alive(pid)) process.kill(pid, 'SIGKILL');
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
