import type { DecisionsReport } from './decisions.js';
import { fmtInt, fmtMiB, fmtRatio, fmtSec } from './report.js';
import type { RestoreReport } from './restore.js';
import type { RuntimeReport } from './runtime.js';

/** A short fixed-width table for the terminal; RESULTS.md carries the full story. */
export function runtimeTable(r: RuntimeReport): string {
  const head: [string, string, string, string, string] = ['subject', 'rate', 'wall', 'reference', 'ratio'];
  const rows: Array<[string, string, string, string, string]> = [head];
  rows.push(['embedded', `${fmtInt(r.embedded.eventsPerSec)} ev/s`, fmtSec(r.embedded.elapsedMs), `raw LMDB ${fmtInt(r.rawLmdb.meanOpsPerSec)} op/s`, fmtRatio(r.ratios.embeddedVsRawLmdb)]);
  const k = r.kafka;
  if (k !== null) {
    const ref = `bare kafkajs ${fmtInt(k.bareKafkajs.msgsPerSec)} msg/s`;
    rows.push(['kafka exactly_once', `${fmtInt(k.exactlyOnce.eventsPerSec)} ev/s`, fmtSec(k.exactlyOnce.elapsedMs), ref, fmtRatio(r.ratios.exactlyOnceVsBareKafkajs)]);
    rows.push(['kafka at_least_once', `${fmtInt(k.atLeastOnce.eventsPerSec)} ev/s`, fmtSec(k.atLeastOnce.elapsedMs), ref, fmtRatio(r.ratios.atLeastOnceVsBareKafkajs)]);
    rows.push(['  steady EOS / ALOS', `${fmtInt(k.exactlyOnce.steadyEventsPerSec)} / ${fmtInt(k.atLeastOnce.steadyEventsPerSec)}`, '', `bare steady ${fmtInt(k.bareKafkajs.steadyMsgsPerSec)}`, `${fmtRatio(r.ratios.exactlyOnceSteadyVsBareKafkajsSteady)} / ${fmtRatio(r.ratios.atLeastOnceSteadyVsBareKafkajsSteady)}`]);
  }
  const widths = head.map((_, i) => Math.max(...rows.map((row) => row[i]?.length ?? 0)));
  const lines = rows.map((row) => row.map((cell, i) => (i === 0 || i === 3 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  '));
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  const e = r.embedded;
  lines.push('');
  lines.push(`embedded: node CPU ${Math.round((100 * e.cpuMs) / e.elapsedMs)}% of a core, peak RSS ${fmtMiB(e.peakRssBytes)}, state ${(e.stateFileBytes / e.usersStored).toFixed(0)} B/user on disk (${(e.stateUsedBytes / e.usersStored).toFixed(0)} B/user in live pages), batch p50/p99 ≈ ${e.batch.p50Ms.toFixed(1)}/${e.batch.p99Ms.toFixed(1)} ms`);
  if (k !== null) {
    const pct = (cpu: number | null, wall: number) => (cpu === null ? '–' : `${Math.round((100 * cpu) / wall)}%`);
    const eos = k.exactlyOnce;
    const alos = k.atLeastOnce;
    lines.push(`kafka: produce ${fmtInt(eos.produce.msgsPerSec)} msg/s; EOS batch p50/p99 ≈ ${eos.batch.p50Ms.toFixed(0)}/${eos.batch.p99Ms.toFixed(0)} ms over ${fmtInt(eos.batch.batches)} batches; peak RSS EOS ${fmtMiB(eos.peakRssBytes)}, ALOS ${fmtMiB(alos.peakRssBytes)}`);
    lines.push(`cpu (node / broker, % of a core): EOS ${pct(eos.cpuMs, eos.elapsedMs)} / ${pct(eos.brokerCpuMs, eos.elapsedMs)}, ALOS ${pct(alos.cpuMs, alos.elapsedMs)} / ${pct(alos.brokerCpuMs, alos.elapsedMs)}, bare ${pct(k.bareKafkajs.cpuMs, k.bareKafkajs.elapsedMs)} / ${pct(k.bareKafkajs.brokerCpuMs, k.bareKafkajs.elapsedMs)}`);
  }
  return lines.join('\n');
}

function padTable(rows: string[][]): string {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((row) => row[i]?.length ?? 0)));
  const lines = rows.map((row) => row.map((cell, i) => (i === 0 || i === 3 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  '));
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  return lines.join('\n');
}

export function restoreTable(r: RestoreReport): string {
  const x = r.restore;
  const t = x.timeline;
  const raw = r.rawLmdb;
  const rows: string[][] = [
    ['subject', 'rate', 'wall', 'reference', 'ratio'],
    ['restore', `${fmtInt(x.recordsPerSec)} rec/s`, fmtSec(t.lastRecordsMs - t.plannedMs), `bare kafkajs ${fmtInt(r.bareKafkajs.msgsPerSec)} msg/s`, fmtRatio(r.ratios.restoreVsBareKafkajs)],
    ['restore steady', x.steadyRecordsPerSec === null ? '– (one batch)' : `${fmtInt(x.steadyRecordsPerSec)} rec/s`, fmtSec(t.lastRecordsMs - t.firstRecordsMs), `bare steady ${fmtInt(r.bareKafkajs.steadyMsgsPerSec)} msg/s`, fmtRatio(r.ratios.restoreSteadyVsBareKafkajsSteady)],
    ['restore vs write', `${fmtInt(x.recordsPerSec)} rec/s`, '', `raw LMDB ${fmtInt(raw.meanOpsPerSec)} op/s`, fmtRatio(r.ratios.restoreVsRawLmdb)],
    ['time to ready', fmtSec(t.readyMs), '', `read ${fmtSec(r.bareKafkajs.elapsedMs)} + write ${fmtSec((raw.before.elapsedMs + raw.after.elapsedMs) / 2)}`, fmtRatio(r.ratios.readyVsReadPlusWrite)],
  ];
  const lines = [padTable(rows), ''];
  lines.push(`changelog: ${fmtInt(r.changelog.records)} records, ${fmtMiB(r.changelog.payloadBytes)} payload${r.changelog.segmentBytes === null ? '' : `, ${fmtMiB(r.changelog.segmentBytes)} on the broker`}; restored ${fmtInt(x.records)} records`);
  lines.push(`timeline: planned ${fmtSec(t.plannedMs)}, first batch ${fmtSec(t.firstRecordsMs)}, last ${fmtSec(t.lastRecordsMs)}, ready ${fmtSec(t.readyMs)}`);
  lines.push(`state: ${(x.stateFileBytes / x.usersStored).toFixed(0)} B/user on disk (${(x.stateUsedBytes / x.usersStored).toFixed(0)} B live), built incrementally ${(r.build.stateFileBytes / r.build.usersStored).toFixed(0)} B/user; peak RSS ${fmtMiB(x.peakRssBytes)}; node CPU ${Math.round((100 * x.cpuMs) / t.readyMs)}% of a core`);
  lines.push(`build: produce ${fmtInt(r.build.produce.msgsPerSec)} msg/s, first replica ${fmtInt(r.build.eventsPerSec)} events/s (${fmtSec(r.build.elapsedMs)})`);
  return lines.join('\n');
}

export function decisionsTable(r: DecisionsReport): string {
  const d = r.decide;
  const c = r.counter;
  const rows: string[][] = [
    ['phase', 'rate', 'wall', 'reference', 'ratio'],
    ['decide', `${fmtInt(d.recordsPerSec)} dec/s`, fmtSec(d.elapsedMs), `counter ${fmtInt(c.meanEventsPerSec)} ev/s`, fmtRatio(r.ratios.decisionsVsCounter)],
    ['decide per core', `${fmtInt(d.perCpuSecond)} dec/CPU-s`, '', `counter ${fmtInt(c.meanPerCpuSecond)} ev/CPU-s`, fmtRatio(r.ratios.decisionsPerCpuVsCounterPerCpu)],
    ['load profiles', `${fmtInt(r.load.profiles.recordsPerSec)} prof/s`, fmtSec(r.load.profiles.elapsedMs), `counter ${fmtInt(c.meanEventsPerSec)} ev/s`, fmtRatio(r.ratios.profilesVsCounter)],
    ['load events', `${fmtInt(r.load.events.recordsPerSec)} ev/s`, fmtSec(r.load.events.elapsedMs), `counter ${fmtInt(c.meanEventsPerSec)} ev/s`, fmtRatio(r.ratios.eventsVsCounter)],
  ];
  const m = d.mix;
  const kv = (o: Record<string, number>) => Object.entries(o).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${fmtInt(n)}`).join(', ');
  const lines = [padTable(rows), ''];
  lines.push(`decide: cores busy ${(d.cpuMs / d.elapsedMs).toFixed(2)}, batch wall p50/p99 ≈ ${d.batch.p50Ms.toFixed(0)}/${d.batch.p99Ms.toFixed(0)} ms (5000 = the histogram's top), CPU per batch ${((d.batch.meanRecords * 1000) / Math.max(1, d.perCpuSecond)).toFixed(0)} ms, peak RSS ${fmtMiB(d.peakRssBytes)}`);
  lines.push(`actions: ${kv(m.actions)}; skip reasons: ${kv(m.skipReasons)}; sends ${fmtInt(m.sends)}`);
  lines.push(`state: ${(r.load.state.fileBytes / r.load.state.users).toFixed(0)} B/user on disk after load (${(r.load.state.usedBytes / r.load.state.users).toFixed(0)} live, UserState ${(r.load.state.userValueBytes / r.load.state.users).toFixed(0)} B), ${(d.state.fileBytes / d.state.users).toFixed(0)} B/user after deciding`);
  if (r.profile !== null) lines.push('', 'UNDER THE CPU PROFILER: rates are lower than an unprofiled run.');
  return lines.join('\n');
}
