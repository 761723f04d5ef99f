import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { startHttpServer } from '../http/server.js';
import { StubReplicaApi } from './support/http-stub.js';
import { testLogger } from './support/logger.js';
import { freePort } from './support/free-port.js';

const options = (port: number) => ({ api: new StubReplicaApi(), host: '0.0.0.0', port, token: 'secret', maxBodyBytes: 65_536, log: testLogger });

test('http: a port another replica listens on is a configuration error, not shared with it', { timeout: 60_000 }, async () => {
  // A port named, as a deployment names one (with port 0 the kernel never hands out a shared port).
  const first = await startHttpServer(options(await freePort()));
  try {
    // Another process, as another replica would be: uSockets sets SO_REUSEPORT by default, and the
    // kernel then splits connections between the two processes' sockets.
    const server = new URL('../http/server.js', import.meta.url).href;
    const stub = new URL('./support/http-stub.js', import.meta.url).href;
    const code = `
      const { startHttpServer } = await import(${JSON.stringify(server)});
      const { StubReplicaApi } = await import(${JSON.stringify(stub)});
      try {
        const s = await startHttpServer({ api: new StubReplicaApi(), host: '0.0.0.0', port: ${first.port}, token: 'secret', maxBodyBytes: 65536, log: { info() {}, warn() {}, error() {}, debug() {}, child() { return this; } } });
        console.log('listening');
        s.close();
        process.exit(0);
      } catch (err) {
        console.log(err.code, err.message);
        process.exit(2);
      }`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString('utf8')));
    const [status] = (await once(child, 'exit')) as [number | null];
    assert.equal(status, 2, out);
    assert.match(out, /NUDGE_ERR_CONFIG http\.port: cannot listen on 0\.0\.0\.0:\d+/);
    const health = await fetch(`http://127.0.0.1:${first.port}/healthz`);
    assert.equal(health.status, 200, 'the first server still answers');
  } finally {
    first.close();
  }
});
