import { chromium, type Browser } from 'playwright-core';

/** Where Debian's chromium package puts the browser; `npm run setup` installs it when missing. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** A headless Debian chromium driven by playwright-core (which downloads no browser of its own). */
export async function launchBrowser(): Promise<Browser> {
  // No sandbox: the tests may run as root, where chromium refuses its sandbox.
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: ['--no-sandbox'] });
}
