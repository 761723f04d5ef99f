import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCampaignBench } from '../bench/campaign.js';
import type { LatencyPercentiles } from '../bench/harness.js';
import { runIngestBench } from '../bench/ingest.js';
import { renderCampaignSection } from '../bench/report-campaign.js';
import { renderIngestSection } from '../bench/report-ingest.js';
import { renderEligibilityEmbeddedSection, runEligibilityEmbeddedBench } from '../bench/eligibility-embedded.js';

// The embedded engine at a tiny size, nothing written: the scenarios run end to end, their
// reports have the shape RESULTS.md is rendered from, and no record went missing on the way.

function assertLatency(l: LatencyPercentiles, what: string): void {
  assert.ok(l.count > 0, `${what}: batches recorded`);
  assert.ok(l.p50Ms > 0 && l.p50Ms <= l.p90Ms && l.p90Ms <= l.p99Ms && l.p99Ms <= l.maxMs * 1.001, `${what}: percentiles ordered ${JSON.stringify(l)}`);
}

test('bench ingest (embedded, tiny): every profile and event committed, every user in state, ratios to raw LMDB', { timeout: 60_000 }, async () => {
  const r = await runIngestBench({ events: 3000, users: 500, partitions: 2, kafka: false });
  assert.equal(r.scenario, 'ingest');
  assert.equal(r.params.workload, 'uniform');
  assert.ok(r.params.busiestTenthShare < 0.25, `uniform: busiest tenth ${r.params.busiestTenthShare}`);
  assert.equal(r.kafka, null);
  const e = r.embedded;
  assert.equal(e.profiles, 500);
  assert.equal(e.events, 3000);
  assert.equal(e.phase.records, 3500);
  assert.equal(e.deadLetters, 0);
  assert.equal(e.state.users, 500);
  assert.equal(e.rawLmdb.before.counted, 3000);
  assert.ok(e.phase.recordsPerSec > 0 && e.phase.peakRssBytes > 0 && e.state.fileBytes > 0);
  assertLatency(e.phase.latency, 'ingest');
  assert.ok(Number.isFinite(r.ratios.embeddedVsRawLmdb) && r.ratios.embeddedVsRawLmdb > 0);
  assert.equal(r.ratios.kafkaVsBareKafkajs, null);
  assert.match(renderIngestSection(r), /## ingest:[\s\S]*\| embedded \(default\) \|/);
});

test('bench ingest --workload activity (embedded, tiny): the simulator\'s events, skewed over the users, all committed', { timeout: 60_000 }, async () => {
  const r = await runIngestBench({ events: 3000, users: 500, partitions: 2, kafka: false, workload: 'activity' });
  assert.equal(r.scenario, 'ingest-activity');
  assert.equal(r.params.workload, 'activity');
  assert.equal(r.params.eventsPerUserDay, 200);
  const e = r.embedded;
  assert.equal(e.events, 3000);
  assert.equal(e.phase.records, 3500);
  assert.equal(e.deadLetters, 0);
  assert.equal(e.state.users, 500);
  assert.equal(e.rawLmdb.before.counted, 3000);
  // A tenth of the users draw far more than a tenth of the events, and runs of one user's events follow each other.
  assert.ok(r.params.busiestTenthShare > 0.3, `busiest tenth ${r.params.busiestTenthShare}`);
  assert.ok(r.params.sameUserAsPrevious > 100, `same user as previous ${r.params.sameUserAsPrevious}`);
  assert.match(r.command, /--workload activity/);
  assert.match(renderIngestSection(r), /## ingest-activity:[\s\S]*from the simulator[\s\S]*\| embedded \(default\) \|/);
});

test('bench campaign (embedded, tiny): one ledger entry per candidate, extrapolation computed from the rate', { timeout: 60_000 }, async () => {
  const r = await runCampaignBench({ candidates: 900, campaigns: 3, users: 600, partitions: 2, kafka: false });
  assert.equal(r.scenario, 'campaign');
  assert.equal(r.kafka, null);
  assert.equal(r.params.perCampaign, 300);
  const e = r.embedded;
  assert.equal(e.load.records, 600);
  assert.equal(e.decide.records, 900);
  assert.equal(e.state.users, 600);
  assert.equal(e.state.ledgerEntries, 900);
  assert.equal(e.deadLetters, 0);
  assert.ok(e.mix !== null && e.mix.decisions >= 900, 'a decision for every candidate');
  assertLatency(e.decide.latency, 'decide');
  assert.ok(e.decide.recordsPerSec > 0);
  // 12M ÷ the measured rate, and enough replicas for an hour at that rate.
  assert.ok(Math.abs(e.extrapolation.oneReplicaMs - (12_000_000 * 1000) / e.decide.recordsPerSec) < 1);
  assert.equal(e.extrapolation.replicasForTarget, Math.ceil(e.extrapolation.oneReplicaMs / 3_600_000));
  assert.ok(r.ratios.embeddedVsRawLmdb > 0);
  assert.match(renderCampaignSection(r), /extrapolation/i);
});

test('bench eligibility-api (embedded, tiny): one replica answers every request itself, against the trivial endpoint in the same run', { timeout: 90_000 }, async () => {
  const r = await runEligibilityEmbeddedBench({ rate: 200, seconds: 1, users: 60 });
  assert.equal(r.scenario, 'eligibility-api-embedded');
  assert.equal(r.machine.kafka, null, 'no broker');
  assert.equal(r.sample.ok, r.sample.requests);
  assert.equal(Object.keys(r.sample.answeredBy).length, 1, 'the one replica answered every sampled request');
  for (const w of [r.reference.before, r.local, r.reference.after]) {
    assert.equal(w.load.errors, 0, w.label);
    assert.ok(w.load.rps > 100, `${w.label}: ${w.load.rps} req/s near the fixed 200`);
  }
  assert.ok(r.local.server !== null && r.local.server.handled >= 100 && r.local.server.failed === 0, 'the replica API handled the window');
  assert.equal(r.local.owner, null, 'nothing forwarded');
  // The process's CPU in the window is measured; per request, the idle CPU measured before is
  // taken out, which on a noisy machine can exceed a tiny one-second window's own (the figure is
  // then 0, never negative: it was 0 once in a full run).
  assert.ok(r.local.cpuMs > 0, 'CPU measured over the window');
  assert.ok(Number.isFinite(r.ratios.cpuUsPerRequest.local) && r.ratios.cpuUsPerRequest.local >= 0, String(r.ratios.cpuUsPerRequest.local));
  assert.match(renderEligibilityEmbeddedSection(r), /## eligibility-api on the embedded default[\s\S]*\| nudge \(embedded, one replica\) \|/);
});
