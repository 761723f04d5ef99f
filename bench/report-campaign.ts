import type { CampaignReport, CampaignRun } from './campaign.js';
import { cpuShare, fmtLatency, sectionHead } from './report-ingest.js';
import { fmtInt, fmtMiB, fmtRatio, fmtSec, shares, table, writeScenario } from './report.js';

export async function writeCampaignReport(report: CampaignReport, out: string): Promise<{ json: string; markdown: string }> {
  return writeScenario('campaign', report, renderCampaignSection(report), out);
}

function fmtDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '–';
  const h = ms / 3_600_000;
  return h >= 1 ? `${h.toFixed(1)} h` : `${(ms / 60_000).toFixed(1)} min`;
}

export function renderCampaignSection(r: CampaignReport): string {
  const p = r.params;
  const e = r.embedded;
  const k = r.kafka;
  const out = sectionHead('## campaign: candidates decided against a simulated population', r);
  out.push(
    `Workload: ${fmtInt(p.users)} users of the simulated population (\`bench/sim/population.ts\`) loaded into state first (profiles only), then ${p.campaigns} campaigns (${p.campaignIds.join(', ')}: promotional, service, promotional push-only, reminder SMS-only, in turn; windows open at the decide phase's start) and ${fmtInt(p.candidates)} candidates, ${fmtInt(p.perCampaign)} distinct users per campaign, one campaign's block after another. Topology \`operators/decisions/\` as \`nudge run\` builds it (HeuristicScorer, sends recorded by RecordingSink), ${p.partitions} partitions; the operators' clock is the bench's virtual Monday 10:00 IST moving with real time. Kafka runs exactly_once.`,
  );
  out.push('');
  out.push('### Decisions per second, time to decide them all, ratios');
  out.push('');
  const row = (name: string, x: CampaignRun, ref: string, ratio: number | null) => [
    name,
    `${fmtInt(x.decide.recordsPerSec)} decisions/s`,
    fmtSec(x.decide.elapsedMs),
    `${fmtInt(x.decide.perCpuSecond)}`,
    cpuShare(x.decide.cpuMs, x.decide.elapsedMs),
    cpuShare(x.decide.brokerCpuMs, x.decide.elapsedMs),
    ref,
    fmtRatio(ratio),
  ];
  const rows = [row('embedded (default)', e, `raw LMDB get+put ${fmtInt(e.rawLmdb.opsPerSec)} ops/s`, r.ratios.embeddedVsRawLmdb)];
  if (k !== null) {
    rows.push(row('kafka exactly_once', k, `bare kafkajs ${fmtInt(k.bareKafkajs.msgsPerSec)} msgs/s`, r.ratios.kafkaVsBareKafkajs));
    rows.push(['kafka ÷ embedded', '', '', '', '', '', '', fmtRatio(r.ratios.kafkaVsEmbedded)]);
  }
  out.push(table(['engine', 'rate', `time to decide ${fmtInt(p.candidates)}`, 'per CPU-second', 'node CPU', 'broker CPU', 'reference (same run)', 'ratio'], rows));
  out.push('');
  out.push(
    `The decide window runs from \`replica.start()\` (a fresh replica on the loaded state) until its checkpoints cover every candidate; start-up is inside (ready after ${fmtSec(e.decide.readyMs)} embedded${k !== null ? `, ${fmtSec(k.decide.readyMs)} on Kafka` : ''}). References: raw LMDB is the counter read-modify-write of \`runtime\` on the candidates' keys (one per candidate, transactions of 1,000); bare kafkajs reads the candidates topic in a fresh group with nudge's fetch settings and \`JSON.parse\` only${k !== null ? ` (${k.bareKafkajsRuns.map((b) => fmtInt(b.msgsPerSec)).join(', ')} msgs/s; median used)` : ''}. "Per CPU-second" is decisions ÷ CPU seconds of this process, the steadier figure on a shared machine.`,
  );
  out.push('');
  out.push(`### Extrapolation to ${fmtInt(e.extrapolation.candidates)} candidates (computed, not measured)`);
  out.push('');
  const ex = (name: string, x: CampaignRun) => [name, `${fmtInt(x.decide.recordsPerSec)} decisions/s`, fmtDuration(x.extrapolation.oneReplicaMs), `${fmtInt(x.extrapolation.replicasForTarget)}`];
  const exRows = [ex('embedded', e)];
  if (k !== null) exRows.push(ex('kafka exactly_once', k));
  out.push(table(['engine', 'measured rate', `${fmtInt(e.extrapolation.candidates)} at this rate on one replica`, `replicas to decide them within ${e.extrapolation.targetHours} h`], exRows));
  out.push('');
  out.push(
    `Extrapolation: ${fmtInt(e.extrapolation.candidates)} ÷ the measured rate. The replica count assumes throughput grows linearly with replicas (each on a machine like this one, partitions spread evenly, the broker not the bottleneck); this run measures one replica only, and a ${fmtInt(p.users)}-user state is far smaller than a 12M-user one (more of it fits in the page cache), so read these as lower bounds on time. The embedded engine runs one process by design: its row says how long one machine would take.`,
  );
  out.push('');
  out.push('### Latency, memory, state, counts');
  out.push('');
  const lat = (name: string, x: CampaignRun) => [
    name,
    `${fmtInt(x.decide.latency.count)} × ${fmtInt(x.decide.batch.meanRecords)}`,
    fmtLatency(x.decide.latency),
    fmtMiB(x.decide.peakRssBytes),
    `${(x.state.fileBytes / Math.max(1, x.state.users)).toFixed(0)} B (UserState ${(x.state.userValueBytes / Math.max(1, x.state.users)).toFixed(0)} B)`,
    `${fmtInt(x.decide.records)} committed, ${fmtInt(x.state.ledgerEntries)} ledger entries, ${fmtInt(x.deadLetters)} dead letters`,
    `${fmtInt(x.load.recordsPerSec)} profiles/s, ${fmtSec(x.load.elapsedMs)}`,
  ];
  const latRows = [lat('embedded', e)];
  if (k !== null) latRows.push(lat('kafka exactly_once', k));
  out.push(table(['engine', 'batches × records', 'batch p50 / p90 / p99 / max', 'peak RSS (decide)', 'state per user after', 'counts (input = output)', 'load phase'], latRows));
  out.push('');
  if (e.mix !== null) {
    out.push(
      `What the embedded run decided: ${shares(e.mix.actions, e.mix.decisions)}; skip reasons ${shares(e.mix.skipReasons, e.mix.actions['skip'] ?? 0)}; channels ${shares(e.mix.channels, e.mix.decisions - (e.mix.actions['skip'] ?? 0))}. ${fmtInt(e.mix.decisions)} decision records for ${fmtInt(p.candidates)} candidates (a user in several campaigns may be re-decided when a higher-priority campaign preempts a scheduled send).`,
    );
    out.push('');
  }
  out.push(
    `Batch latencies are exact (HDR histogram of every records batch). Peak RSS is VmHWM reset at the start of the decide window, in the process that ran the load phase too. State per user: \`data.mdb\` sizes ÷ users in state after deciding (ledger entries and timers included). A run fails rather than report a figure unless every candidate is committed and has exactly one ledger entry, every user is in state and nothing is dead-lettered.`,
  );
  return out.join('\n');
}

export function campaignTable(r: CampaignReport): string {
  const lines: string[] = [];
  const line = (name: string, x: CampaignRun, ref: string, ratio: number | null) =>
    `${name}: ${fmtInt(x.decide.recordsPerSec)} decisions/s, ${fmtInt(r.params.candidates)} in ${fmtSec(x.decide.elapsedMs)}; ${ref}, ratio ${fmtRatio(ratio)}; batch p50/p90/p99/max ${fmtLatency(x.decide.latency)}; peak RSS ${fmtMiB(x.decide.peakRssBytes)}; ${(x.state.fileBytes / Math.max(1, x.state.users)).toFixed(0)} B/user; 12M would take ${fmtDuration(x.extrapolation.oneReplicaMs)} on one replica (extrapolated)`;
  lines.push(line('embedded', r.embedded, `raw LMDB ${fmtInt(r.embedded.rawLmdb.opsPerSec)} ops/s`, r.ratios.embeddedVsRawLmdb));
  if (r.kafka !== null) lines.push(line('kafka EOS', r.kafka, `bare kafkajs ${fmtInt(r.kafka.bareKafkajs.msgsPerSec)} msgs/s`, r.ratios.kafkaVsBareKafkajs));
  return lines.join('\n');
}
