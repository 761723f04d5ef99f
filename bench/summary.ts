/**
 * The summary at the top of RESULTS.md: one line per figure that travels (a ratio to a
 * reference measured in the same run), read back from results/<scenario>.json, so it can be
 * regenerated without re-running anything and always shows which run each figure came from.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { CampaignReport } from './campaign.js';
import type { DecisionsReport } from './decisions.js';
import type { EligibilityApiReport } from './eligibility-api.js';
import type { EligibilityEmbeddedReport } from './eligibility-embedded.js';
import type { IngestReport } from './ingest.js';
import { fmtRate } from './report-ingest.js';
import type { RecoveryReport } from './recovery.js';
import type { RestoreReport } from './restore.js';
import type { RuntimeReport } from './runtime.js';
import type { SendPathReport } from './send-path.js';
import type { StreamsPeerReport } from './streams-peer-scenario.js';
import { cpuName } from '../cli/host-cpu.js';
import { KAFKA_VERSION } from '../scripts/kafka-broker.js';
import { describeMachine, fmtInt, fmtRatio, fmtSec, machineLine, table, updateResultsSection, type MachineInfo } from './report.js';

type Row = [scenario: string, figure: string, nudge: string, reference: string, ratio: string, run: string];

async function readReport<T>(dir: string, name: string): Promise<T | null> {
  const file = join(dir, 'results', `${name}.json`);
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch {
    return null;
  }
}

function when(r: { date: string; machine: MachineInfo }): string {
  return `${r.date.slice(0, 16).replace('T', ' ')} (load ${r.machine.loadAvg1m.toFixed(1)}, ${cpuName(r.machine.cpuModel)})`;
}

/**
 * The machines the results were measured on, from the results themselves: a summary written
 * later, or elsewhere, must not claim its own machine for runs made on another.
 */
async function resultMachines(dir: string): Promise<string[]> {
  const machines = new Set<string>();
  const files = existsSync(join(dir, 'results')) ? await readdir(join(dir, 'results')) : [];
  for (const f of files.filter((x) => x.endsWith('.json')).sort()) {
    try {
      const m = (JSON.parse(await readFile(join(dir, 'results', f), 'utf8')) as { machine?: MachineInfo }).machine;
      // The hardware and software, not whether that run started a broker.
      if (m !== undefined) machines.add(`${m.cpuCount} × ${m.cpuModel}, ${(m.totalMemBytes / 1024 ** 3).toFixed(1)} GiB RAM, ${m.os}, Node ${m.node}`);
    } catch {
      // A results file being written right now, or not ours: it has no row either.
    }
  }
  return [...machines];
}

function fmtHours(ms: number): string {
  return Number.isFinite(ms) ? `${(ms / 3_600_000).toFixed(1)} h` : '–';
}

/** Rows from whatever results exist; a scenario never run is simply absent. */
export async function summaryRows(dir: string): Promise<Row[]> {
  const rows: Row[] = [];
  const rt = await readReport<RuntimeReport>(dir, 'runtime');
  if (rt !== null) {
    rows.push(['runtime (counter) ≈ ingest, minimal topology', 'embedded events/s', fmtInt(rt.embedded.eventsPerSec), `raw LMDB ${fmtInt(rt.rawLmdb.meanOpsPerSec)} ops/s`, fmtRatio(rt.ratios.embeddedVsRawLmdb), when(rt)]);
    if (rt.kafka !== null) {
      rows.push(['runtime (counter)', 'Kafka exactly_once events/s', fmtInt(rt.kafka.exactlyOnce.eventsPerSec), `bare kafkajs ${fmtInt(rt.kafka.bareKafkajs.msgsPerSec)} msgs/s`, fmtRatio(rt.ratios.exactlyOnceVsBareKafkajs), when(rt)]);
      rows.push(['runtime (counter)', 'Kafka at_least_once events/s', fmtInt(rt.kafka.atLeastOnce.eventsPerSec), `bare kafkajs ${fmtInt(rt.kafka.bareKafkajs.msgsPerSec)} msgs/s`, fmtRatio(rt.ratios.atLeastOnceVsBareKafkajs), when(rt)]);
    }
  }
  const sp = await readReport<StreamsPeerReport>(dir, 'streams-peer');
  for (const run of sp?.runs ?? []) {
    if (sp === null || run.ratios === null || run.nudge === null) continue;
    rows.push(['streams-peer (counter)', `nudge ÷ Kafka Streams, events per CPU-second (${run.guarantee})`, fmtInt(sp.params.events / (run.nudge.cpuMs / 1000)), `Kafka Streams ${fmtInt(run.peer.eventsPerCpuSecond)}`, fmtRatio(run.ratios.eventsPerCpuSecond), when(sp)]);
    rows.push(['streams-peer (counter)', `nudge ÷ Kafka Streams, events/s (${run.guarantee})`, fmtInt(run.nudge.eventsPerSec), `Kafka Streams ${fmtInt(run.peer.eventsPerSec)}`, fmtRatio(run.ratios.eventsPerSec), when(sp)]);
  }
  for (const name of ['ingest', 'ingest-activity'] as const) {
    const ing = await readReport<IngestReport>(dir, name);
    if (ing === null) continue;
    const what = name === 'ingest' ? 'ingest (decision topology)' : `ingest-activity (simulator, ${fmtRate(ing.params.eventsPerUserDay ?? 0)} events a user a day)`;
    rows.push([what, 'embedded profiles + events/s', fmtInt(ing.embedded.phase.recordsPerSec), `raw LMDB ${fmtInt(ing.embedded.rawLmdb.meanOpsPerSec)} ops/s`, fmtRatio(ing.ratios.embeddedVsRawLmdb), when(ing)]);
    if (ing.kafka !== null) rows.push([what, 'Kafka exactly_once profiles + events/s', fmtInt(ing.kafka.phase.recordsPerSec), `bare kafkajs ${fmtInt(ing.kafka.bareKafkajs.msgsPerSec)} msgs/s`, fmtRatio(ing.ratios.kafkaVsBareKafkajs), when(ing)]);
  }
  const cp = await readReport<CampaignReport>(dir, 'campaign');
  if (cp !== null) {
    rows.push(['campaign', `embedded decisions/s (${fmtInt(cp.params.candidates)} in ${fmtSec(cp.embedded.decide.elapsedMs)})`, fmtInt(cp.embedded.decide.recordsPerSec), `raw LMDB ${fmtInt(cp.embedded.rawLmdb.opsPerSec)} ops/s`, fmtRatio(cp.ratios.embeddedVsRawLmdb), when(cp)]);
    if (cp.kafka !== null) rows.push(['campaign', `Kafka exactly_once decisions/s (${fmtInt(cp.params.candidates)} in ${fmtSec(cp.kafka.decide.elapsedMs)})`, fmtInt(cp.kafka.decide.recordsPerSec), `bare kafkajs ${fmtInt(cp.kafka.bareKafkajs.msgsPerSec)} msgs/s`, fmtRatio(cp.ratios.kafkaVsBareKafkajs), when(cp)]);
    const best = cp.kafka !== null && cp.kafka.decide.recordsPerSec > cp.embedded.decide.recordsPerSec ? cp.kafka : cp.embedded;
    rows.push(['campaign', `12M candidates at the faster rate (extrapolated, not measured)`, `${fmtHours(best.extrapolation.oneReplicaMs)} on one replica`, `${fmtInt(best.extrapolation.replicasForTarget)} ${best.extrapolation.replicasForTarget === 1 ? 'replica' : 'replicas'} for ${best.extrapolation.targetHours} h${best.extrapolation.replicasForTarget === 1 ? '' : ' if linear'}`, '–', when(cp)]);
  }
  const dec = await readReport<DecisionsReport>(dir, 'decisions');
  if (dec !== null) {
    rows.push(['decisions (one campaign, embedded)', `decisions per CPU-second (${fmtInt(dec.params.users)} users)`, fmtInt(dec.decide.perCpuSecond), `counter ${fmtInt(dec.counter.meanPerCpuSecond)} events/CPU-s`, fmtRatio(dec.ratios.decisionsPerCpuVsCounterPerCpu), when(dec)]);
  }
  const rec = await readReport<RecoveryReport>(dir, 'recovery');
  if (rec !== null) {
    rows.push(['recovery (kill -9)', 'embedded same dir: ready / caught up; catch-up records/s', `${fmtSec(rec.embedded.sameDir.readyMs)} / ${fmtSec(rec.embedded.sameDir.caughtUpMs)}; ${fmtInt(rec.embedded.sameDir.catchUpRecordsPerSec)}`, `raw LMDB ${fmtInt(rec.embedded.rawLmdb.opsPerSec)} ops/s`, fmtRatio(rec.ratios.embeddedCatchUpVsRawLmdb), when(rec)]);
    if (rec.kafka !== null) {
      rows.push(['recovery (kill -9)', 'Kafka same dir: ready / caught up; catch-up records/s', `${fmtSec(rec.kafka.sameDir.readyMs)} / ${fmtSec(rec.kafka.sameDir.caughtUpMs)}; ${fmtInt(rec.kafka.sameDir.catchUpRecordsPerSec)}`, `bare kafkajs ${fmtInt(rec.kafka.bareKafkajs.msgsPerSec)} msgs/s`, fmtRatio(rec.ratios.kafkaCatchUpVsBareKafkajs), when(rec)]);
      const restoreMs = rec.kafka.freshDir.readyMs - (rec.kafka.freshDir.assignedMs ?? 0);
      rows.push(['recovery (kill -9)', 'Kafka fresh dir: ready; of which restore', `${fmtSec(rec.kafka.freshDir.readyMs)}; ${fmtSec(restoreMs)}`, `bare read of the changelog ${fmtSec(rec.kafka.bareChangelog.elapsedMs)}`, fmtRatio(rec.ratios.kafkaChangelogReadVsFreshReady), when(rec)]);
    }
  }
  const rs = await readReport<RestoreReport>(dir, 'restore');
  if (rs !== null) {
    rows.push(['restore (one partition)', `restore records/s (${fmtInt(rs.params.users)} users)`, fmtInt(rs.restore.recordsPerSec), `bare kafkajs ${fmtInt(rs.bareKafkajs.msgsPerSec)} msgs/s`, fmtRatio(rs.ratios.restoreVsBareKafkajs), when(rs)]);
  }
  const el = await readReport<EligibilityApiReport>(dir, 'eligibility-api');
  if (el !== null) {
    rows.push(['eligibility-api', `local p99 at ${fmtInt(el.params.rate)} req/s (ms)`, String(el.local.load.p99), `trivial uWS endpoint`, fmtRatio(el.ratios.localP99VsReference), when(el)]);
    rows.push(['eligibility-api', 'CPU µs per request, local', fmtInt(el.ratios.cpuUsPerRequest.local), `trivial uWS ${fmtInt(el.ratios.cpuUsPerRequest.reference)} µs`, fmtRatio(el.ratios.localCpuPerRequestVsReference), when(el)]);
  }
  const ee = await readReport<EligibilityEmbeddedReport>(dir, 'eligibility-api-embedded');
  if (ee !== null) {
    rows.push(['eligibility-api (embedded)', `p99 at ${fmtInt(ee.params.rate)} req/s (ms), one replica`, String(ee.local.load.p99), `trivial uWS endpoint`, fmtRatio(ee.ratios.localP99VsReference), when(ee)]);
    rows.push(['eligibility-api (embedded)', 'CPU µs per request', fmtInt(ee.ratios.cpuUsPerRequest.local), `trivial uWS ${fmtInt(ee.ratios.cpuUsPerRequest.reference)} µs`, fmtRatio(ee.ratios.localCpuPerRequestVsReference), when(ee)]);
  }
  const sd = await readReport<SendPathReport>(dir, 'send-path');
  if (sd !== null) {
    for (const [name, runs] of [['gupshup (SMS)', sd.gupshup], ['fcm (push)', sd.fcm]] as const) {
      rows.push(['send-path', `${name} sends/s via ProviderSink`, fmtInt(runs.sink.sendsPerSec), `bare undici keep-alive ${fmtInt((runs.keepAlive[0].sendsPerSec + runs.keepAlive[1].sendsPerSec) / 2)}`, fmtRatio(runs.ratios.sinkVsKeepAlive), when(sd)]);
    }
    // Reports written before part (c) existed have no replica runs.
    const rp = sd.replica as SendPathReport['replica'] | undefined;
    for (const x of rp === undefined ? [] : [rp.embedded, rp.kafka]) {
      if (x === null) continue;
      rows.push(['send-path', `gupshup sends/s decided by a replica, ${x.engine === 'kafka' ? 'Kafka exactly-once' : 'embedded'}`, fmtInt(x.sendsPerSec), `the sink fed directly ${fmtInt(sd.gupshup.sink.sendsPerSec)}`, fmtRatio(x.sendsPerSec / sd.gupshup.sink.sendsPerSec), when(sd)]);
    }
  }
  return rows;
}

/** Regenerates the summary section, placed right after the document's introduction. */
export async function writeSummary(out: string, extra: { wholeRunMs?: number; failures?: string[] } = {}): Promise<string> {
  const dir = resolve(out);
  const rows = await summaryRows(dir);
  const lines: string[] = [];
  lines.push('## Summary: every figure as a ratio to its same-run reference');
  lines.push('');
  lines.push(`Regenerated by \`nudge bench all\` (or \`nudge bench summary\` from the JSON alone) on ${new Date().toISOString()}; each row names the run it comes from. ${extra.wholeRunMs !== undefined ? `The whole \`bench all\` took ${fmtSec(extra.wholeRunMs)}.` : ''}`);
  lines.push('');
  // The load average and the CPU belong to each run (last column), not to the moment the summary is written.
  const machines = await resultMachines(dir);
  if (machines.length === 0) lines.push(machineLine(describeMachine(KAFKA_VERSION)).replace(/; 1-min load average at start [\d.]+\.$/, '.'));
  else if (machines.length === 1) lines.push(`Machine: ${machines[0] as string}, Kafka ${KAFKA_VERSION}.`);
  else {
    lines.push(`Machines (the runs were made on ${machines.length} machines of the same size; the last column names each run's CPU): ${machines.join('; ')}. Kafka ${KAFKA_VERSION}.`);
    lines.push('');
    lines.push("A ratio compares nudge with a reference measured in the same run, on the same machine. Ratios from runs on different CPUs may differ for that reason alone: compare a figure across runs only on the same CPU.");
  }
  lines.push('');
  lines.push(table(['scenario', 'figure', 'nudge', 'reference (same run)', 'ratio', 'run (UTC, 1-min load, CPU)'], rows));
  lines.push('');
  lines.push(
    'Ratios above 1 are "more than the reference" for rates and "slower than the reference" for latencies and CPU per request; the sections below say which each is. Scenario map: `runtime` measures ingest with the minimal counter topology, `ingest` with the real decision topology (`ingest-activity` the same with events from the simulator instead of uniform draws); `decisions` is one campaign on the embedded engine at a large user count, `campaign` a few campaigns on both engines; `restore` is one partition from its changelog, `recovery` a whole replica after kill -9.',
  );
  if (extra.failures !== undefined && extra.failures.length > 0) {
    lines.push('');
    lines.push(`Failed in the last \`bench all\` (their rows, if any, are from an earlier run): ${extra.failures.join('; ')}.`);
  }
  const file = join(dir, 'RESULTS.md');
  await updateResultsSection(file, 'summary', lines.join('\n'), { atTop: true });
  return file;
}
