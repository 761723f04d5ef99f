import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './support/tmp.js';
import { waitFor } from './support/wait.js';
import { freePort } from './support/free-port.js';

test('cli: records written by nudge produce reach a nudge run already running on the same embedded log', { timeout: 120_000 }, async () => {
  const cli = join(fileURLToPath(new URL('.', import.meta.url)), '..', 'cli', 'main.js');
  const { dir, cleanup } = tempDir();
  const state = ['--state-dir', join(dir, 'state')];
  const port = await freePort();
  const run = spawn(process.execPath, [cli, 'run', '--http-port', String(port), ...state], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NUDGE_LOG_LEVEL: 'info' } });
  let out = '';
  run.stdout.on('data', (b: Buffer) => (out += b.toString('utf8')));
  run.stderr.on('data', (b: Buffer) => (out += b.toString('utf8')));
  const exited = once(run, 'exit');
  try {
    await waitFor(() => out.includes('"msg":"http listening"'), 'nudge run to listen', 60_000);
    const eventsIn = async () => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      let n = 0;
      for (const m of text.matchAll(/^nudge_records_in_total\{[^}]*topic="nudge\.events"[^}]*\} (\d+)$/gm)) n += Number(m[1]);
      return n;
    };
    assert.equal(await eventsIn(), 0);
    const lines = ['u1', 'u2', 'u3'].map((u) => JSON.stringify({ userId: u, ts: '2026-11-22T10:00:00Z', type: 'app_open' })).join('\n');
    const produced = spawnSync(process.execPath, [cli, 'produce', 'events', '-', ...state], { input: `${lines}\n`, encoding: 'utf8' });
    assert.equal(produced.status, 0, produced.stderr);
    // Read by the running replica without a restart: the log is looked at again while idle.
    await waitFor(async () => (await eventsIn()) === 3, `the 3 produced events to be read by the running replica\n${out}`, 20_000, 100);
    run.kill('SIGTERM');
    const [code] = (await exited) as [number | null];
    assert.equal(code, 0, out);
  } finally {
    run.kill('SIGKILL');
    cleanup();
  }
});
