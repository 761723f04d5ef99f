import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Packr } from 'msgpackr';
import { kafkaTestConfig, testKafka } from './support/kafka.js';
import { tempDir } from './support/tmp.js';

/** The CLI run asynchronously: the test's own Kafka clients keep working while it reads. */
function nudge(args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const cli = join(fileURLToPath(new URL('.', import.meta.url)), '..', 'cli', 'main.js');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

test('cli: nudge export on Kafka writes a topic\'s committed records as JSON lines (MessagePack converted, an aborted transaction left out, malformed records named), leaves no group behind, and exits 2 for an unknown topic', { timeout: 180_000 }, async () => {
  const { dir, cleanup } = tempDir();
  const config = kafkaTestConfig(join(dir, 'state'));
  const topic = `${config.topics.prefix}decisions`;
  const env = { NUDGE_KAFKA_BROKERS: config.kafka.brokers.join(','), NUDGE_TOPIC_PREFIX: config.topics.prefix, NUDGE_KAFKA_GROUP_ID: config.kafka.groupId, KAFKAJS_NO_PARTITIONER_WARNING: '1' };
  const kafka = testKafka();
  const admin = kafka.admin();
  await admin.connect();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, transactionalId: `${config.topics.prefix}export-test` });
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
    await producer.connect();
    const decision = (i: number) => ({ decisionId: `d${i}`, userId: `u${i}`, action: 'send', features: [i / 10, 1] });
    const packed = new Packr({ useRecords: false }).pack(decision(99));
    // Committed: ten JSON decisions over both partitions, one MessagePack, one malformed.
    const committed = await producer.transaction();
    await committed.send({
      topic,
      messages: [
        ...Array.from({ length: 10 }, (_, i) => ({ key: `u${i}`, value: JSON.stringify(decision(i)), partition: i % 2 })),
        { key: 'u99', value: packed, partition: 1, headers: { 'content-type': 'application/msgpack' } },
        { key: 'bad', value: '{"decisionId":', partition: 0 },
      ],
    });
    await committed.commit();
    // Aborted: a replica's transaction that failed; read_committed readers never see it.
    const aborted = await producer.transaction();
    await aborted.send({ topic, messages: [{ key: 'u50', value: JSON.stringify(decision(50)), partition: 0 }] });
    await aborted.abort();

    const file = join(dir, 'decisions.jsonl');
    const r = await nudge(['export', 'decisions', file], env);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`^11 records from ${topic.replaceAll('.', '\\.')}; 1 not valid JSON or MessagePack, not written$`, 'm'));
    assert.match(r.stderr, /^partition 0 offset 5: not valid JSON or MessagePack, not written$/m);
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as ReturnType<typeof decision>);
    assert.deepEqual(
      lines.map((d) => d.decisionId).sort(),
      [...Array.from({ length: 10 }, (_, i) => `d${i}`), 'd99'].sort(),
      'every committed decision once, the MessagePack one converted, the aborted one left out',
    );
    assert.deepEqual(lines.find((d) => d.decisionId === 'd99'), decision(99));
    // Within a partition, in offset order.
    const order = (p: number) => lines.filter((d) => Number(d.decisionId.slice(1)) % 2 === p && d.decisionId !== 'd99').map((d) => d.decisionId);
    assert.deepEqual(order(0), ['d0', 'd2', 'd4', 'd6', 'd8']);
    assert.deepEqual(order(1), ['d1', 'd3', 'd5', 'd7', 'd9']);

    const groups = (await admin.listGroups()).groups.map((g) => g.groupId);
    assert.ok(!groups.some((g) => g.startsWith(`${config.kafka.groupId}.export.`)), `no export group left: ${groups.join(', ')}`);

    const unknown = await nudge(['export', 'decision'], env);
    assert.equal(unknown.status, 2, unknown.stderr);
    assert.match(unknown.stderr, /topic: the cluster has no topic "decision" \(allowed: events, profiles, candidates, receipts, campaigns, decisions/);
  } finally {
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect();
    cleanup();
  }
});
