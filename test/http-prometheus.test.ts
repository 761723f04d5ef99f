import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateConfig } from '../config/load.js';
import { createReplica } from '../processor/create-replica.js';
import { EmbeddedLog } from '../processor/embedded/log.js';
import { topologyFor } from '../operators/topologies.js';
import { ReplicaBinding } from '../http/replica-binding.js';
import { LocalDirectory } from '../processor/kafka/directory.js';
import { startHttpServer } from '../http/server.js';
import { testLogger } from './support/logger.js';
import { tempDir } from './support/tmp.js';
import { waitFor } from './support/wait.js';
import { freePort } from './support/free-port.js';

const PROMETHEUS = '/usr/bin/prometheus';
const PROMTOOL = '/usr/bin/promtool';

describe('metrics scraped by a real Prometheus', { skip: existsSync(PROMETHEUS) ? false : `${PROMETHEUS} is not installed (apt-get install -y prometheus; .ci/run does)` }, () => {
  test('promtool accepts /metrics, and Prometheus scrapes nudge_ series from a running replica', { timeout: 120_000 }, async () => {
    const { dir, cleanup } = tempDir();
    const config = validateConfig({ state: { dir: join(dir, 'state') }, embedded: { partitions: 2 }, http: { port: 0 } });
    const log = new EmbeddedLog(join(dir, 'log'));
    const { replica } = createReplica({ config, topology: topologyFor(config), logger: testLogger, embeddedLog: log });
    let prometheus: ReturnType<typeof spawn> | undefined;
    let server: { port: number; close(): void } | undefined;
    try {
      await replica.start();
      const binding = new ReplicaBinding(replica, { directory: new LocalDirectory(), token: 'secret', forwardTimeoutMs: 100 });
      server = await startHttpServer({ api: binding, host: '127.0.0.1', port: 0, token: 'secret', maxBodyBytes: 65_536, log: testLogger });
      log.append(replica.topics.input('events'), [
        { key: 'u1', value: JSON.stringify({ userId: 'u1', ts: 1_763_712_000_000, type: 'app_open' }) },
        { key: 'u2', value: '{"userId":' },
      ]);
      const counted = async () => {
        const metric = (await replica.metrics.registry.getMetricsAsJSON()).find((m) => m.name === 'nudge_records_in_total') as { values: Array<{ value: number }> } | undefined;
        return (metric?.values ?? []).reduce((n, v) => n + v.value, 0);
      };
      await waitFor(async () => (await counted()) === 2, 'both records counted', 20_000);
      const text = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
      const check = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
      assert.equal(check.status, 0, `promtool check metrics: ${check.stdout}${check.stderr}`);

      const promPort = await freePort();
      const promConfig = join(dir, 'prometheus.yml');
      writeFileSync(promConfig, `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: nudge\n    static_configs:\n      - targets: ['127.0.0.1:${server.port}']\n`);
      prometheus = spawn(PROMETHEUS, [`--config.file=${promConfig}`, `--storage.tsdb.path=${join(dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${promPort}`], { stdio: 'ignore' });
      const query = async (q: string) => {
        const res = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(q)}`);
        return ((await res.json()) as { data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } }).data.result;
      };
      const up = await waitFor(async () => (await query('up{job="nudge"}')).find((r) => r.value[1] === '1'), 'Prometheus to scrape the replica', 60_000, 500);
      assert.ok(up !== undefined);
      const deadLetters = await waitFor(async () => (await query('nudge_deadletters_total')).at(0), 'nudge_deadletters_total scraped', 30_000, 500);
      assert.equal(deadLetters.metric['code'], 'NUDGE_ERR_MALFORMED_JSON');
      assert.equal(deadLetters.value[1], '1');
      const records = await query('sum(nudge_records_in_total)');
      assert.equal(records.at(0)?.value[1], '2');
    } finally {
      prometheus?.kill('SIGTERM');
      server?.close();
      await replica.stop();
      await log.close();
      cleanup();
    }
  });
});
