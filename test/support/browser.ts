import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { realClockEnv } from '../../scripts/real-clock.js';

/** Debian's Chromium (`apt-get install -y chromium`), which playwright-core drives. */
export const CHROMIUM = '/usr/bin/chromium';

/** The `skip` option of a browser test: false, or why it cannot run here. */
export const chromiumMissing: string | false = existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (apt-get install -y chromium)`;

/**
 * Chromium headless, on the real clock even in the later-date run (`npm run test:later`),
 * which preloads libfaketime into the test processes: Chromium never finished loading a page
 * under it. The pages under test read no dates of their own that the tests check.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    env: realClockEnv(),
  });
}
