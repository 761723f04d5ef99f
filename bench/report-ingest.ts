import type { IngestReport } from './ingest.js';
import type { LatencyPercentiles } from './harness.js';
import { fmtInt, fmtMiB, fmtMs, fmtRatio, fmtSec, sectionHead, table, writeScenario } from './report.js';

/** p50 / p90 / p99 / max of exact (HDR) batch latencies, for a table cell. */
export function fmtLatency(l: LatencyPercentiles): string {
  return `${fmtMs(l.p50Ms)} / ${fmtMs(l.p90Ms)} / ${fmtMs(l.p99Ms)} / ${fmtMs(l.maxMs)}`;
}

export { sectionHead };

export function cpuShare(cpuMs: number | null, wallMs: number): string {
  return cpuMs === null || wallMs <= 0 ? '–' : `${Math.round((100 * cpuMs) / wallMs)}%`;
}

export async function writeIngestReport(report: IngestReport, out: string): Promise<{ json: string; markdown: string }> {
  return writeScenario(report.scenario, report, renderIngestSection(report), out);
}

/** A rate as given: 200, 20.5, 0.4 (not rounded to an integer). */
export function fmtRate(x: number): string {
  return x.toLocaleString('en-US', { maximumFractionDigits: 2 });
}

/** What the events were and how they fell over the users. */
function eventsWorkload(r: IngestReport): string {
  const p = r.params;
  const shape = `the busiest tenth of the users made ${(100 * p.busiestTenthShare).toFixed(0)}% of them, ${fmtInt(p.distinctEventUsers)} users got at least one, and ${fmtInt(p.sameUserAsPrevious)} events had the previous event's user`;
  if (p.workload === 'activity') {
    return `${fmtInt(p.events)} activity events (mean ${p.meanEventBytes.toFixed(0)} B) from the simulator (\`bench/sim/activity.ts\`): each user at ${fmtRate(p.eventsPerUserDay ?? 0)} events a day in their own habitual hours, as sessions (an app open, views, sometimes a cart or a purchase) of the categories they like, the latest before the bench's virtual now (Monday 10:00 IST), in time order over ${p.spanHours.toFixed(2)} h; ${shape}`;
  }
  return `${fmtInt(p.events)} activity events (mean ${p.meanEventBytes.toFixed(0)} B, each event's user drawn uniformly, the read cache's hardest case, stamped within the hour before the bench's virtual now); ${shape}`;
}

export function renderIngestSection(r: IngestReport): string {
  const p = r.params;
  const e = r.embedded;
  const k = r.kafka;
  const title = p.workload === 'activity' ? '## ingest-activity: the simulator\'s events into per-user state (decision topology)' : '## ingest: profiles and events into per-user state (decision topology)';
  const out = sectionHead(title, r);
  out.push(
    `Workload: ${fmtInt(p.users)} profiles of the simulated population (\`bench/sim/population.ts\`, mean ${p.meanProfileBytes.toFixed(0)} B) and ${eventsWorkload(r)}; ${p.partitions} partitions, topology \`operators/decisions/\` as \`nudge run\` builds it: each profile replaces the user's profile in state, each event updates the user's decayed features. One replica per engine; Kafka runs exactly_once (nudge's default).`,
  );
  out.push('');
  const rows: string[][] = [
    ['embedded (default)', `${fmtInt(e.phase.recordsPerSec)} records/s`, fmtSec(e.phase.elapsedMs), cpuShare(e.phase.cpuMs, e.phase.elapsedMs), '–', `raw LMDB get+put ${fmtInt(e.rawLmdb.meanOpsPerSec)} ops/s`, fmtRatio(r.ratios.embeddedVsRawLmdb)],
  ];
  if (k !== null) {
    rows.push(['kafka exactly_once', `${fmtInt(k.phase.recordsPerSec)} records/s`, fmtSec(k.phase.elapsedMs), cpuShare(k.phase.cpuMs, k.phase.elapsedMs), cpuShare(k.phase.brokerCpuMs, k.phase.elapsedMs), `bare kafkajs ${fmtInt(k.bareKafkajs.msgsPerSec)} msgs/s`, fmtRatio(r.ratios.kafkaVsBareKafkajs)]);
    rows.push(['kafka ÷ embedded', '', '', '', '', '', fmtRatio(r.ratios.kafkaVsEmbedded)]);
  }
  out.push('### Throughput and ratios');
  out.push('');
  out.push(table(['engine', 'rate (profiles + events)', 'wall time', 'node CPU', 'broker CPU', 'reference (same run)', 'ratio'], rows));
  out.push('');
  out.push(
    `Windows run from \`replica.start()\` until the replica's checkpoints cover both input topics (committed, not just seen); start-up is inside. References: raw LMDB is \`runtime\`'s counter read-modify-write (one per event, ordered-binary key, msgpack value, transactions of 1,000) over the same event keys, before and after the embedded run (${fmtInt(e.rawLmdb.before.opsPerSec)} and ${fmtInt(e.rawLmdb.after.opsPerSec)} ops/s); bare kafkajs is one consumer in a fresh group reading the events topic with nudge's fetch settings and \`JSON.parse\` only${k !== null ? ` (${k.bareKafkajsRuns.map((b) => fmtInt(b.msgsPerSec)).join(', ')} msgs/s; the median is used)` : ''}. CPU columns are CPU time ÷ wall time (100% = one core); the broker shares the two cores.`,
  );
  out.push('');
  out.push('### Latency, memory, state, counts');
  out.push('');
  const row = (name: string, x: IngestReport['embedded']) => [
    name,
    fmtInt(x.phase.latency.count),
    fmtInt(x.phase.batch.meanRecords),
    fmtLatency(x.phase.latency),
    fmtMiB(x.phase.peakRssBytes),
    `${(x.state.fileBytes / Math.max(1, x.state.users)).toFixed(0)} B (${(x.state.usedBytes / Math.max(1, x.state.users)).toFixed(0)} B live; UserState ${(x.state.userValueBytes / Math.max(1, x.state.users)).toFixed(0)} B)`,
    `${fmtInt(x.profiles)} + ${fmtInt(x.events)} committed, ${fmtInt(x.state.users)} users in state, ${fmtInt(x.deadLetters)} dead letters`,
  ];
  const rows2 = [row('embedded', e)];
  if (k !== null) rows2.push(row('kafka exactly_once', k as unknown as IngestReport['embedded']));
  out.push(table(['engine', 'batches', 'records/batch', 'batch p50 / p90 / p99 / max', 'peak RSS', 'state per user on disk', 'counts (input = output)'], rows2));
  out.push('');
  out.push(
    `Batch latencies are exact: every records batch's duration (from the start of processing to its local apply after the commit) is recorded in an HDR histogram as the replica observes it. Partitions interleave at every \`await\`, so with ${p.partitions} partitions busy a batch's wall time includes the others' work. Peak RSS is the kernel's high-water mark (VmHWM, reset at the start of each window) of the one process that also generated the input; it includes the LMDB pages mapped in. State per user: \`data.mdb\` sizes ÷ users in state, the raw reference's live pages being ${(e.rawLmdb.before.usedBytes / Math.max(1, e.rawLmdb.before.users)).toFixed(0)} B per user for a counter. A run fails rather than report a figure if any profile or event is not committed, any record is dead-lettered, or a user is missing from state.`,
  );
  return out.join('\n');
}

/** A short fixed-width table for the terminal. */
export function ingestTable(r: IngestReport): string {
  const lines = [
    `embedded: ${fmtInt(r.embedded.phase.recordsPerSec)} records/s, raw LMDB ${fmtInt(r.embedded.rawLmdb.meanOpsPerSec)} ops/s, ratio ${fmtRatio(r.ratios.embeddedVsRawLmdb)}; batch p50/p90/p99/max ${fmtLatency(r.embedded.phase.latency)}; peak RSS ${fmtMiB(r.embedded.phase.peakRssBytes)}; ${(r.embedded.state.fileBytes / Math.max(1, r.embedded.state.users)).toFixed(0)} B/user`,
  ];
  const k = r.kafka;
  if (k !== null) {
    lines.push(
      `kafka EOS: ${fmtInt(k.phase.recordsPerSec)} records/s, bare kafkajs ${fmtInt(k.bareKafkajs.msgsPerSec)} msgs/s, ratio ${fmtRatio(r.ratios.kafkaVsBareKafkajs)}; batch p50/p90/p99/max ${fmtLatency(k.phase.latency)}; peak RSS ${fmtMiB(k.phase.peakRssBytes)}; ${(k.state.fileBytes / Math.max(1, k.state.users)).toFixed(0)} B/user`,
    );
  }
  return lines.join('\n');
}
