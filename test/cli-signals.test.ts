import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './support/tmp.js';
import { waitFor } from './support/wait.js';

test('cli: a SIGTERM during nudge run start-up stops the replica cleanly once it has started (exit 0, logged)', { timeout: 120_000 }, async () => {
  const cli = join(fileURLToPath(new URL('.', import.meta.url)), '..', 'cli', 'main.js');
  const { dir, cleanup } = tempDir();
  try {
    // The learned scorer loads TF.js and a model after the first log line: start-up is then long
    // enough to be sure the signal lands in it.
    const config = join(dir, 'nudge.json');
    writeFileSync(config, JSON.stringify({ models: { scorer: 'learned' } }));
    const child = spawn(process.execPath, [cli, 'run', '--config', config, '--http-port', '0', '--state-dir', join(dir, 'state')], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NUDGE_LOG_LEVEL: 'info' } });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString('utf8')));
    child.stderr.on('data', (b: Buffer) => (out += b.toString('utf8')));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    // At the first log line, before the scorer and the stores: the signal lands in start-up, where
    // it used to kill the process with nothing logged.
    await waitFor(() => out.includes('"msg":"starting"'), 'nudge run to start', 60_000, 5);
    const startedBefore = out.includes('replica running');
    child.kill('SIGTERM');
    const { code, signal } = await exited;
    assert.equal(signal, null, `killed by ${String(signal)}: ${out}`);
    assert.equal(code, 0, out);
    assert.ok(!startedBefore, 'the signal came during start-up');
    const at = (msg: string) => out.indexOf(`"msg":"${msg}"`);
    assert.ok(at('stop requested: the replica stops as soon as it has started') > 0, out);
    assert.ok(at('replica running') > 0 && at('shutting down') > at('replica running') && at('replica stopped') > at('shutting down'), out);
    assert.match(out, /"reason":"SIGTERM"/);
  } finally {
    cleanup();
  }
});
