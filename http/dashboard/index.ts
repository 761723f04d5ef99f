import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { CLIENT_JS } from './client.js';
import { BODY, STYLES } from './page.js';

export interface DashboardOptions {
  /** Where chart.js's UMD build is; resolved from node_modules by default. */
  chartJsPath?: string;
}

/**
 * The dashboard as one self-contained HTML document (no CDN, works offline): markup,
 * styles, chart.js and the client script inline. Built once at start-up.
 *
 * chart.js is a devDependency; where it is not installed (a production image pruned of
 * dev dependencies) the page still works, with its numbers and tables but without
 * charts, rather than take the HTTP server down over a chart library.
 */
export function buildDashboardHtml(options: DashboardOptions = {}): string {
  const chartJs = readChartJs(options.chartJsPath);
  const scripts = [chartJs, CLIENT_JS].filter((s): s is string => s !== undefined).map(inlineSafe);
  // The scripts are allowed by hash: nothing injected into the page could run.
  const scriptHashes = scripts.map((s) => `'sha256-${createHash('sha256').update(s, 'utf8').digest('base64')}'`).join(' ');
  const csp = [
    "default-src 'none'",
    `script-src ${scriptHashes}`,
    // chart.js sizes canvases through element styles.
    "style-src 'unsafe-inline'",
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<meta http-equiv="Content-Security-Policy" content="${csp}">`,
    '<meta name="referrer" content="no-referrer">',
    // No favicon request (it would be a 404 on every load).
    '<link rel="icon" href="data:,">',
    '<title>nudge · live</title>',
    `<style>${STYLES}</style>`,
    '</head>',
    '<body>',
    BODY,
    ...scripts.map((s) => `<script>${s}</script>`),
    '</body>',
    '</html>',
  ].join('\n');
}

/** chart.js's UMD build as text, or undefined where it is not installed (also inlined by the demo's report). */
export function readChartJs(path: string | undefined): string | undefined {
  try {
    // chart.js's "exports" map does not export dist/chart.umd.js (resolving that subpath
    // throws ERR_PACKAGE_PATH_NOT_EXPORTED): resolve the package entry, which is in dist/,
    // and take the UMD build beside it.
    const resolved = path ?? join(dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.js');
    return readFileSync(resolved, 'utf8');
  } catch {
    return undefined;
  }
}

/** Keeps a script from ending its own <script> element early (`</script` inside a string). */
export function inlineSafe(js: string): string {
  return js.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}
