import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderSendPathSection, runSendPathBench } from '../bench/send-path.js';
import { brokers } from './support/kafka.js';

// send-path at a tiny size, nothing written, on the test broker: every OTP candidate's SMS is
// decided by a replica on each engine and accepted by the Gupshup fake exactly once, and the
// report carries the ratios RESULTS.md is rendered from.
test('bench send-path (tiny): the sink fed directly, then a replica on the embedded engine and on Kafka sends every candidate its SMS', { timeout: 180_000 }, async () => {
  const r = await runSendPathBench({ sends: 300, latencyMs: 5, partitions: 2, brokers: brokers().join(',') });
  assert.equal(r.gupshup.sink.ok, 300);
  assert.equal(r.replica.partitions, 2);
  const kafka = r.replica.kafka;
  assert.ok(kafka !== null, 'the Kafka half ran');
  assert.equal(kafka.guarantee, 'exactly_once');
  for (const x of [r.replica.embedded, kafka]) {
    assert.equal(x.candidates, 300);
    assert.equal(x.sent, 300, `${x.engine}: every SMS sent`);
    assert.equal(x.fakeAccepted, 300, `${x.engine}: the fake accepted each once`);
    assert.equal(x.deadLetters, 0);
    assert.ok(x.firstSendMs <= x.elapsedMs && x.sendsPerSec > 0 && x.steadySendsPerSec > 0, JSON.stringify({ first: x.firstSendMs, elapsed: x.elapsedMs }));
    assert.equal(x.timeline.at(-1)?.sent, 300, `${x.engine}: the timeline ends at every send`);
    assert.ok(x.sinkLatency.p50Ms <= x.sinkLatency.p99Ms && x.sinkLatency.p50Ms >= 5, `${x.engine}: a sink call waits at least the fake's 5 ms`);
    assert.ok(x.batchLatency.count > 0 && x.cpuMs > 0);
  }
  assert.ok(kafka.brokerCpuMs === null || kafka.brokerCpuMs >= 0);
  assert.equal(r.replica.embedded.brokerCpuMs, null);
  assert.ok(Math.abs(r.replica.ratios.embeddedVsSink - r.replica.embedded.sendsPerSec / r.gupshup.sink.sendsPerSec) < 1e-9);
  assert.ok(r.replica.ratios.kafkaVsEmbedded !== null && r.replica.ratios.kafkaVsEmbedded > 0);
  assert.match(r.command, /--partitions 2 --brokers <host:port>$/);
  assert.match(renderSendPathSection(r), /### \(c\) The same sends decided by a replica[\s\S]*\| embedded \(default\) \|[\s\S]*\| Kafka external, exactly-once \|/);
});
