import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brokers, kafkaTestConfig, testKafka } from './support/kafka.js';
import { tempDir, uniqueName } from './support/tmp.js';
import { waitFor } from './support/wait.js';

const cli = join(fileURLToPath(new URL('.', import.meta.url)), '..', 'cli', 'main.js');

function runCli(args: string[], env: NodeJS.ProcessEnv): { exited: Promise<{ code: number | null; signal: string | null }>; output: () => string; kill: (s: NodeJS.Signals) => void } {
  const child = spawn(process.execPath, [cli, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return {
    exited: new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal }))),
    output: () => out,
    kill: (s) => child.kill(s),
  };
}

test('kafka: co-partitioned topics with different partition counts are refused with exit status 2', { timeout: 120_000 }, async () => {
  const { dir, cleanup } = tempDir();
  const prefix = `${uniqueName('t')}.`;
  const admin = testKafka().admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: `${prefix}events`, numPartitions: 4 }, { topic: `${prefix}candidates`, numPartitions: 6 }], waitForLeaders: true });
  await admin.disconnect();
  try {
    const run = runCli(['run', '--brokers', brokers().join(','), '--state-dir', dir, '--http-port', '0'], { NUDGE_TOPIC_PREFIX: prefix, NUDGE_KAFKA_GROUP_ID: `${prefix}g` });
    const { code } = await run.exited;
    assert.equal(code, 2, run.output());
    assert.match(run.output(), /different partition counts/);
    assert.match(run.output(), new RegExp(`${prefix.replace('.', '\\.')}events=4`));
    assert.match(run.output(), new RegExp(`${prefix.replace('.', '\\.')}candidates=6`));
  } finally {
    cleanup();
  }
});

test('kafka: SIGTERM stops a replica gracefully: it leaves the group and exits 0 within the bound', { timeout: 120_000 }, async () => {
  const { dir, cleanup } = tempDir();
  const config = kafkaTestConfig(dir);
  const run = runCli(['run', '--brokers', brokers().join(','), '--state-dir', dir, '--http-port', '0'], {
    NUDGE_TOPIC_PREFIX: config.topics.prefix,
    NUDGE_KAFKA_GROUP_ID: config.kafka.groupId,
    NUDGE_LOG_LEVEL: 'info',
  });
  try {
    await waitFor(() => /replica running/.test(run.output()) && /partitions assigned/.test(run.output()), 'replica to run', 90_000);
    const admin = testKafka().admin();
    await admin.connect();
    const members = async () => (await admin.describeGroups([config.kafka.groupId])).groups[0]?.members.length ?? 0;
    assert.equal(await members(), 1);
    const t0 = Date.now();
    run.kill('SIGTERM');
    const { code } = await run.exited;
    assert.equal(code, 0, run.output());
    assert.ok(Date.now() - t0 < config.processor.shutdownTimeoutMs);
    assert.match(run.output(), /replica stopped/);
    // It left the group rather than waiting out the session timeout.
    assert.equal(await members(), 0);
    await admin.disconnect();
  } finally {
    run.kill('SIGKILL');
    cleanup();
  }
});
