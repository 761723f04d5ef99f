import type { KilledRun, RecoveryReport, RestartRun } from './recovery.js';
import { sectionHead } from './report-ingest.js';
import { fmtInt, fmtMiB, fmtRatio, fmtSec, table, writeScenario } from './report.js';

export async function writeRecoveryReport(report: RecoveryReport, out: string): Promise<{ json: string; markdown: string }> {
  return writeScenario('recovery', report, renderRecoverySection(report), out);
}

function restartRow(name: string, k: KilledRun, x: RestartRun, ref: string, ratio: number | null, total: number): string[] {
  return [
    name,
    k.committedAtKill >= total ? `all ${fmtInt(total)} (caught up), after ${fmtSec(k.killedAfterMs)}` : `${fmtInt(k.committedAtKill)} of ${fmtInt(total)} after ${fmtSec(k.killedAfterMs)}`,
    x.assignedMs === null ? '–' : fmtSec(x.assignedMs),
    x.assignedMs === null ? fmtSec(x.readyMs) : `${fmtSec(x.readyMs)} (${fmtSec(x.readyMs - x.assignedMs)} after assignment)`,
    fmtSec(x.caughtUpMs),
    x.catchUpRecords === 0 ? '– (nothing left)' : `${fmtInt(x.catchUpRecordsPerSec)} records/s`,
    `${fmtInt(x.counted)} (${x.counted === total ? 'equal' : 'DIFFERENT'})`,
    fmtMiB(x.peakRssBytes),
    `${x.stateBytesPerUser.toFixed(0)} B`,
    ref,
    fmtRatio(ratio),
  ];
}

export function renderRecoverySection(r: RecoveryReport): string {
  const p = r.params;
  const e = r.embedded;
  const k = r.kafka;
  const out = sectionHead('## recovery: time to ready after kill -9', r);
  out.push(
    `Workload: ${fmtInt(p.events)} events over ${fmtInt(p.users)} users, ${p.partitions} partitions, topology \`${p.topology}\` (its counts make "nothing lost, nothing twice" checkable). A replica runs in a child process (\`bench/recovery-replica.ts\`) and is killed with SIGKILL once ${Math.round(p.killAt * 100)}% of the input is committed; a new process then starts on the same state dir. On Kafka (exactly_once) that one is killed -9 in turn once caught up, and a third starts on an empty state dir, restoring every partition from the changelog.`,
  );
  out.push('');
  const rows = [restartRow('embedded, same state dir', e.killed, e.sameDir, `raw LMDB get+put ${fmtInt(e.rawLmdb.opsPerSec)} ops/s`, r.ratios.embeddedCatchUpVsRawLmdb, p.events)];
  if (k !== null) {
    rows.push(restartRow('kafka, same state dir', k.killed, k.sameDir, `bare kafkajs ${fmtInt(k.bareKafkajs.msgsPerSec)} msgs/s`, r.ratios.kafkaCatchUpVsBareKafkajs, p.events));
    rows.push(restartRow('kafka, fresh state dir', k.sameDirKilled, k.freshDir, `bare read of the changelog ${fmtSec(k.bareChangelog.elapsedMs)}`, r.ratios.kafkaChangelogReadVsFreshReady, p.events));
  }
  out.push(table(['restart', 'killed with', 'group joined', 'time to ready', 'time to caught up', 'catch-up rate', 'final count (input)', 'peak RSS', 'state per user', 'reference (same run)', 'ratio'], rows));
  out.push('');
  out.push(
    `Times run from the spawn of the new process (Node start-up and module loading inside: ready came ${fmtSec(e.sameDir.readyMs - e.sameDir.readyInChildMs)} after the embedded process's own start) to its ready report (\`replica.ready\` with every partition's task running, which is what \`/readyz\` reports) and to the moment its checkpoints cover the input. The catch-up rate is the records left at ready ÷ the time from ready to caught up; the ratios divide it by raw LMDB's read-modify-write rate (embedded) and bare kafkajs's read rate of the input (Kafka, median of 3 fresh groups), and for the fresh dir divide the time a bare kafkajs consumer takes to read the whole changelog by the time from assignment to ready, which is the restore (1 would mean restoring costs no more than reading).`,
  );
  if (k !== null) {
    out.push('');
    out.push(
      `On Kafka a replica killed -9 does not leave its group: the new process's join waits until the broker expires the dead member's session (\`kafka.sessionTimeoutMs\` ${fmtInt(k.sessionTimeoutMs)} ms, nudge's default), which dominates the time to ready on the same dir. The fresh dir restored ${fmtInt(k.changelogRecords)} changelog offsets (records and transaction markers); the bare reader took ${fmtSec(k.bareChangelog.elapsedMs)} for ${fmtInt(k.bareChangelog.messages)} records.`,
    );
  }
  out.push('');
  out.push('Final counts are the sum of every user\'s count in the new replica\'s state once caught up; a run fails rather than report a figure unless they equal the input.');
  return out.join('\n');
}

export function recoveryTable(r: RecoveryReport): string {
  const line = (name: string, x: RestartRun) => `${name}: ready ${fmtSec(x.readyMs)}, caught up ${fmtSec(x.caughtUpMs)}, catch-up ${fmtInt(x.catchUpRecordsPerSec)} records/s, counted ${fmtInt(x.counted)} of ${fmtInt(r.params.events)}, peak RSS ${fmtMiB(x.peakRssBytes)}`;
  const lines = [line('embedded same dir', r.embedded.sameDir)];
  if (r.kafka !== null) {
    lines.push(line('kafka same dir', r.kafka.sameDir));
    lines.push(line('kafka fresh dir', r.kafka.freshDir));
  }
  lines.push(`ratios: embedded catch-up ÷ raw LMDB ${fmtRatio(r.ratios.embeddedCatchUpVsRawLmdb)}, kafka catch-up ÷ bare kafkajs ${fmtRatio(r.ratios.kafkaCatchUpVsBareKafkajs)}, bare changelog read ÷ fresh ready ${fmtRatio(r.ratios.kafkaChangelogReadVsFreshReady)}`);
  return lines.join('\n');
}
