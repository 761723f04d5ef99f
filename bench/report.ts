import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { cpus, loadavg, release, totalmem, type as osType, arch } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DecisionsReport } from './decisions.js';
import type { RestoreReport } from './restore.js';
import type { RuntimeReport } from './runtime.js';

export interface MachineInfo {
  cpuModel: string;
  cpuCount: number;
  totalMemBytes: number;
  os: string;
  node: string;
  /** Kafka broker version the run used; 'external' when given --brokers; null without Kafka. */
  kafka: string | null;
  /** 1-minute load average when the run started: a hint of how busy the shared machine was. */
  loadAvg1m: number;
}

export function describeMachine(kafka: string | null): MachineInfo {
  const list = cpus();
  return {
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    cpuCount: list.length,
    totalMemBytes: totalmem(),
    os: `${osType()} ${release()} ${arch()}`,
    node: process.version,
    kafka,
    loadAvg1m: loadavg()[0] ?? 0,
  };
}

/** The repository root (where package.json is), whether running from bench/ or dist/bench/. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

/** Where results go by default: the source tree's bench/ (not dist/), so they can be committed. */
export function defaultOutDir(): string {
  return join(repoRoot(), 'bench');
}

const RESULTS_HEADER = `# nudge benchmark results

Each scenario regenerates its own section below, between its \`<!-- <scenario>:start -->\`
and \`<!-- <scenario>:end -->\` markers; text outside the markers is left alone, so
scenarios can be added (and prose written) without one run erasing another.

The machines are shared and noisy (2 cores): every absolute figure comes with a
**ratio** to a reference measured in the same run, and the ratios are what to compare
between runs and machines. Raw JSON of the latest run of each scenario is in
\`bench/results/<scenario>.json\`.

\`nudge bench all\` (\`npm run bench:all\`) runs every scenario in turn and regenerates the
summary below; each scenario alone is \`nudge bench <scenario>\`.
`;

/** Writes <out>/results/runtime.json and regenerates the runtime section of <out>/RESULTS.md. */
export async function writeRuntimeReport(report: RuntimeReport, out: string): Promise<{ json: string; markdown: string }> {
  const dir = resolve(out);
  const json = join(dir, 'results', 'runtime.json');
  const markdown = join(dir, 'RESULTS.md');
  await writeAtomically(json, `${JSON.stringify(report, null, 2)}\n`);
  await updateResultsSection(markdown, 'runtime', renderRuntimeSection(report));
  return { json, markdown };
}

/** Writes <out>/results/restore.json and regenerates the restore section of <out>/RESULTS.md. */
export async function writeRestoreReport(report: RestoreReport, out: string): Promise<{ json: string; markdown: string }> {
  // One file per partition size as well, so that runs at different sizes are reported side by side.
  const dir = resolve(out);
  await writeAtomically(join(dir, 'results', `restore-${report.params.users}.json`), `${JSON.stringify(report, null, 2)}\n`);
  const bySize = await readRestoreRuns(join(dir, 'results'));
  return writeScenario('restore', report, renderRestoreSection(report, bySize), out);
}

/** The latest run of every partition size (results/restore-<users>.json), smallest first. */
async function readRestoreRuns(dir: string): Promise<RestoreReport[]> {
  let files: string[];
  try {
    files = (await readdir(dir)).filter((f) => /^restore-\d+\.json$/.test(f));
  } catch {
    return [];
  }
  const runs: RestoreReport[] = [];
  for (const f of files) {
    try {
      const r = JSON.parse(await readFile(join(dir, f), 'utf8')) as RestoreReport;
      if (r.scenario === 'restore') runs.push(r);
    } catch {
      // A file that does not parse is not a run to report.
    }
  }
  return runs.sort((a, b) => a.params.users - b.params.users);
}

/**
 * Writes <out>/results/decisions.json and the decisions section. A run under the CPU profiler
 * writes decisions-profile.json and its own section instead, so that its slowed-down rates never
 * replace the figures of an unprofiled run.
 */
export async function writeDecisionsReport(report: DecisionsReport, out: string): Promise<{ json: string; markdown: string }> {
  if (report.profile !== null) return writeScenario('decisions-profile', report, renderDecisionsProfileSection(report), out);
  return writeScenario('decisions', report, renderDecisionsSection(report), out);
}

/** Writes <out>/results/<name>.json and regenerates the <name> section of <out>/RESULTS.md: what every scenario does at its end. */
export async function writeScenario(name: string, report: object, section: string, out: string): Promise<{ json: string; markdown: string }> {
  const dir = resolve(out);
  const json = join(dir, 'results', `${name}.json`);
  const markdown = join(dir, 'RESULTS.md');
  await writeAtomically(json, `${JSON.stringify(report, null, 2)}\n`);
  await updateResultsSection(markdown, name, section);
  return { json, markdown };
}

/**
 * Replaces the scenario's section between its markers, or adds it: at the end, or with
 * `atTop` before the first section (the summary); creates the file with its header.
 */
export async function updateResultsSection(file: string, scenario: string, body: string, options: { atTop?: boolean } = {}): Promise<void> {
  const start = `<!-- ${scenario}:start -->`;
  const end = `<!-- ${scenario}:end -->`;
  const section = `${start}\n${body.trim()}\n${end}`;
  const current = existsSync(file) ? await readFile(file, 'utf8') : RESULTS_HEADER;
  const i = current.indexOf(start);
  const j = current.indexOf(end);
  let next: string;
  // The header's prose names the markers too: only a marker at the start of a line opens a section.
  const first = current.search(/^<!-- [\w-]+:start -->$/m);
  if (i >= 0 && j > i) next = current.slice(0, i) + section + current.slice(j + end.length);
  else if (options.atTop === true && first >= 0) next = `${current.slice(0, first)}${section}\n\n${current.slice(first)}`;
  else next = `${current.trimEnd()}\n\n${section}\n`;
  await writeAtomically(file, next);
}

// A reader (or a concurrent scenario) never sees a half-written file.
async function writeAtomically(file: string, text: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, text);
  await rename(tmp, file);
}

// ---- formatting ----

export function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function fmtRatio(r: number | null): string {
  return r === null || !Number.isFinite(r) ? '–' : r.toFixed(3);
}

export function fmtSec(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

export function fmtMs(ms: number): string {
  return ms < 10 ? `${ms.toFixed(2)} ms` : `${Math.round(ms)} ms`;
}

export function fmtMiB(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** A Markdown table; exported for the scenarios that render their own section. */
export function table(head: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

export function renderRuntimeSection(r: RuntimeReport): string {
  const m = r.machine;
  const e = r.embedded;
  const k = r.kafka;
  const raw = r.rawLmdb;
  const p = r.params;
  const out: string[] = [];
  out.push('## runtime: per-user counter throughput');
  out.push('');
  out.push(`Latest run: ${r.date} (took ${fmtSec(r.durationMs)}). Regenerated by \`bench/report.ts\`; edits between the markers are overwritten.`);
  out.push('');
  out.push(`Reproduce: \`npx tsc -p . && ${r.command}\``);
  out.push('');
  out.push(
    `Machine: ${m.cpuCount} × ${m.cpuModel}, ${(m.totalMemBytes / 1024 ** 3).toFixed(1)} GiB RAM, ${m.os}, Node ${m.node}, Kafka ${m.kafka ?? 'not run'}; 1-min load average at start ${m.loadAvg1m.toFixed(2)}.`,
  );
  out.push('');
  out.push(
    `Workload: ${fmtInt(p.events)} JSON events (mean ${p.meanValueBytes.toFixed(0)} B) over ${fmtInt(p.users)} users (${fmtInt(p.distinctUsers)} got at least one; uniform, seed ${p.seed}), ${p.partitions} partitions, topology \`operators/user-counter.ts\` (one state read-modify-write and one output per event).`,
  );
  out.push('');
  out.push('### Throughput and ratios');
  out.push('');
  const cpu = (cpuMs: number, wallMs: number) => `${Math.round((100 * cpuMs) / wallMs)}%`;
  const brokerCpu = (ms: number | null, wallMs: number) => (ms === null ? '–' : cpu(ms, wallMs));
  const rows: string[][] = [
    [
      'embedded (default, LMDB log + LMDB state)',
      `${fmtInt(e.eventsPerSec)} events/s`,
      fmtSec(e.elapsedMs),
      cpu(e.cpuMs, e.elapsedMs),
      '–',
      `raw LMDB get+put ${fmtInt(raw.meanOpsPerSec)} ops/s`,
      fmtRatio(r.ratios.embeddedVsRawLmdb),
    ],
  ];
  if (k !== null) {
    const ref = `bare kafkajs ${fmtInt(k.bareKafkajs.msgsPerSec)} msgs/s`;
    for (const [name, x, ratio] of [
      ['kafka exactly_once (1 replica)', k.exactlyOnce, r.ratios.exactlyOnceVsBareKafkajs],
      ['kafka at_least_once (1 replica)', k.atLeastOnce, r.ratios.atLeastOnceVsBareKafkajs],
    ] as const) {
      rows.push([name, `${fmtInt(x.eventsPerSec)} events/s`, fmtSec(x.elapsedMs), cpu(x.cpuMs, x.elapsedMs), brokerCpu(x.brokerCpuMs, x.elapsedMs), ref, fmtRatio(ratio)]);
    }
    const bare = k.bareKafkajs;
    rows.push(['bare kafkajs (reference)', `${fmtInt(bare.msgsPerSec)} msgs/s`, fmtSec(bare.elapsedMs), cpu(bare.cpuMs, bare.elapsedMs), brokerCpu(bare.brokerCpuMs, bare.elapsedMs), '–', '1']);
  }
  out.push(table(['subject', 'rate', 'wall time', 'node CPU', 'broker CPU', 'reference (same run)', 'ratio'], rows));
  out.push('');
  out.push(
    'Windows run from `replica.start()` (or the bare consumer\'s `connect()`) until every event is committed: the sum over partitions of the replica\'s checkpointed positions equals the topic\'s end offsets. Start-up (opening stores, group join, transactional producer init, changelog restore) is inside the window; the steady figures below leave it out. CPU columns are CPU time ÷ wall time (100% = one of the cores busy for the whole window); the broker runs on the same cores.',
  );
  out.push('');
  const steady: string[][] = [['embedded', `${fmtInt(e.steadyEventsPerSec)} events/s`, `ready after ${fmtMs(e.readyMs)}`, fmtRatio(r.ratios.embeddedSteadyVsRawLmdb)]];
  if (k !== null) {
    steady.push(['kafka exactly_once', `${fmtInt(k.exactlyOnce.steadyEventsPerSec)} events/s`, `ready after ${fmtMs(k.exactlyOnce.readyMs)}`, fmtRatio(r.ratios.exactlyOnceSteadyVsBareKafkajsSteady)]);
    steady.push(['kafka at_least_once', `${fmtInt(k.atLeastOnce.steadyEventsPerSec)} events/s`, `ready after ${fmtMs(k.atLeastOnce.readyMs)}`, fmtRatio(r.ratios.atLeastOnceSteadyVsBareKafkajsSteady)]);
    steady.push(['bare kafkajs (reference)', `${fmtInt(k.bareKafkajs.steadyMsgsPerSec)} msgs/s`, `joined after ${fmtMs(k.bareKafkajs.joinMs)}`, '1']);
  }
  out.push(table(['after readiness', 'rate', 'start-up', 'ratio to reference'], steady));
  out.push('');
  out.push('### References');
  out.push('');
  out.push(
    `- raw LMDB: the same read-modify-write per event (ordered-binary key, msgpack value, same store layout) directly on \`lmdb\`, ${p.partitions} environments opened as \`LmdbStore\` opens them, one \`transactionSync\` per ${p.batchRecords} events of a partition; no JSON, validation, cache, buffering, outputs or log. Run before and after the embedded phase: ${fmtInt(raw.before.opsPerSec)} and ${fmtInt(raw.after.opsPerSec)} ops/s (the ratio uses their mean).`,
  );
  if (k !== null) {
    out.push(
      `- bare kafkajs: one consumer in a fresh group on the exactly-once run's input topic, nudge's fetch settings and read_committed, \`eachBatch\` doing \`JSON.parse\` of each value and nothing else, autoCommit on; ${fmtInt(k.bareKafkajs.batches)} batches. Run ${k.bareKafkajsRuns.length} times, each in a fresh group: ${k.bareKafkajsRuns.map((b) => fmtInt(b.msgsPerSec)).join(', ')} msgs/s; the ratios use the median.`,
    );
    const ks = k.settings.kafka;
    const overridden = k.settings.overridden.length > 0 ? ` (overridden: ${k.settings.overridden.join(', ')})` : " (nudge's defaults)";
    out.push(
      `- nudge on Kafka: one replica, fresh topic prefix, group and state dir per guarantee; \`kafka.maxBytesPerPartition\` ${fmtInt(ks.maxBytesPerPartition)} B, \`maxWaitTimeMs\` ${ks.maxWaitTimeMs}, \`partitionsConsumedConcurrently\` ${ks.partitionsConsumedConcurrently}${overridden}; all effective settings are in the JSON.`,
    );
    out.push(
      `- produce (kafkajs, idempotent, requests of 5,000, acks=-1, one at a time): ${fmtInt(k.exactlyOnce.produce.msgsPerSec)} msgs/s for the exactly-once topic, ${fmtInt(k.atLeastOnce.produce.msgsPerSec)} msgs/s for the at-least-once topic.`,
    );
    if (k.brokerStartMs !== null) out.push(`- broker: started for the run in ${fmtSec(k.brokerStartMs)} (single node, KRaft, \`scripts/kafka-broker.ts\`).`);
  }
  out.push('');
  out.push('### Batches, memory, state');
  out.push('');
  const b = (s: RuntimeReport['embedded']['batch']) => [fmtInt(s.batches), fmtInt(s.meanRecords), fmtMs(s.p50Ms), fmtMs(s.p99Ms)];
  const detail: string[][] = [['embedded', ...b(e.batch), fmtMiB(e.rssStartBytes), fmtMiB(e.peakRssBytes), `${(e.stateFileBytes / e.usersStored).toFixed(0)} B (${(e.stateUsedBytes / e.usersStored).toFixed(0)} B used)`]];
  if (k !== null) {
    for (const [name, x] of [
      ['kafka exactly_once', k.exactlyOnce],
      ['kafka at_least_once', k.atLeastOnce],
    ] as const) {
      detail.push([name, ...b(x.batch), fmtMiB(x.rssStartBytes), fmtMiB(x.peakRssBytes), `${(x.stateFileBytes / x.usersStored).toFixed(0)} B`]);
    }
  }
  out.push(table(['subject', 'batches', 'records/batch', 'batch p50', 'batch p99', 'RSS at start', 'peak RSS', 'state on disk per user'], detail));
  out.push('');
  out.push(
    `Batch durations come from the replica's \`nudge_batch_duration_seconds\` histogram (from the start of processing a batch to its local apply after the commit), interpolated within its buckets: approximate. Partitions' batches interleave at every \`await\`, so with ${p.partitions} partitions busy a batch's wall time includes the other partitions' work (the embedded p50 is about ${p.partitions}× a batch's own cost). Peak RSS is the kernel's high-water mark (VmHWM, reset at the start of each phase; ${e.peakRssSource === 'VmHWM' ? 'used in this run' : 'unavailable here, so 100 ms samples'}) in one process that ran the earlier phases too (RSS at start shows what they left); it includes LMDB pages mapped into memory and V8 heap not yet collected. State per user: the partitions' \`data.mdb\` file sizes ÷ users stored (${fmtInt(e.usersStored)}); "used" counts live LMDB pages only. The raw reference's live pages come to ${(raw.after.usedBytes / raw.after.users).toFixed(0)} B per user for the same data.`,
  );
  return out.join('\n');
}

export function machineLine(m: MachineInfo): string {
  return `Machine: ${m.cpuCount} × ${m.cpuModel}, ${(m.totalMemBytes / 1024 ** 3).toFixed(1)} GiB RAM, ${m.os}, Node ${m.node}, Kafka ${m.kafka ?? 'not run'}; 1-min load average at start ${m.loadAvg1m.toFixed(2)}.`;
}

/** The lines every scenario section opens with: title, run date, how to reproduce, machine. */
export function sectionHead(title: string, r: { date: string; durationMs: number; command: string; machine: MachineInfo }): string[] {
  return [
    title,
    '',
    `Latest run: ${r.date} (took ${fmtSec(r.durationMs)}). Regenerated by \`bench/main.ts\`; edits between the markers are overwritten.`,
    '',
    `Reproduce: \`npx tsc -p . && ${r.command}\``,
    '',
    machineLine(r.machine),
    '',
  ];
}

function pct(cpuMs: number | null, wallMs: number): string {
  return cpuMs === null || wallMs <= 0 ? '–' : `${Math.round((100 * cpuMs) / wallMs)}%`;
}

export function renderRestoreSection(r: RestoreReport, bySize: readonly RestoreReport[] = []): string {
  const out: string[] = [];
  const p = r.params;
  const x = r.restore;
  const t = x.timeline;
  const c = r.changelog;
  const bare = r.bareKafkajs;
  const raw = r.rawLmdb;
  out.push(...sectionHead('## restore: one partition back from its changelog', r));
  out.push(
    `Workload: ${fmtInt(p.users)} users in ONE partition (\`kafka.partitions\` 1). A replica of \`operators/user-counter.ts\` (${p.guarantee}, batches of ${fmtInt(p.maxBatchRecords)}) consumed one event per user and so wrote the changelog as production would (read cache off for speed: it serves reads only, so the changelog is the same); it was stopped, its state dir deleted, and a second replica started in the same group (inputs already consumed), so everything it did before \`ready\` was restoring. The restoring replica runs nudge's defaults (read cache ${fmtInt(p.cacheEntries)} entries per partition).`,
  );
  out.push('');
  out.push(
    p.compaction === true
      ? "Changelog compaction: the broker's cleaner was free to compact the changelog during the run (`--compaction`)."
      : "Changelog compaction: held off for the run (the bench creates the changelog with `min.compaction.lag.ms` of a day; `--compaction` lifts that). With it, once the changelog rolls a segment (64 MiB on the bench broker: about 900k users) the cleaner keeps only the last of the checkpoint records, which all share one key; the restore then meets hundreds of thousands of entries before its first checkpoint record and, at 1M users on 2026-11-21, failed with `RangeError: Maximum call stack size exceeded` in `ChangelogReplay.add` (`this.#ready.push(...this.#pending)`), retrying forever.",
  );
  out.push('');
  if (bySize.length > 1) {
    out.push('### By partition size (latest run of each)');
    out.push('');
    out.push(
      table(
        ['users', 'run', 'restore', 'vs bare kafkajs', 'vs raw LMDB', 'time to ready', 'ready ÷ (read + write)', 'state per user', 'reproduce'],
        bySize.map((x) => [
          fmtInt(x.params.users),
          `${x.date.slice(0, 16).replace('T', ' ')} (load ${x.machine.loadAvg1m.toFixed(1)})`,
          `${fmtInt(x.restore.recordsPerSec)} records/s`,
          fmtRatio(x.ratios.restoreVsBareKafkajs),
          fmtRatio(x.ratios.restoreVsRawLmdb),
          fmtSec(x.restore.timeline.readyMs),
          fmtRatio(x.ratios.readyVsReadPlusWrite),
          `${(x.restore.stateFileBytes / x.restore.usersStored).toFixed(0)} B`,
          `\`${x.command}\``,
        ]),
      ),
    );
    out.push('');
    out.push(`The rest of this section details the latest run (${fmtInt(p.users)} users).`);
    out.push('');
  }
  out.push('### Restore and ratios');
  out.push('');
  out.push(
    table(
      ['subject', 'rate', 'wall time', 'node CPU', 'broker CPU', 'reference (same run)', 'ratio'],
      [
        ['nudge restore (start → last batch applied)', `${fmtInt(x.recordsPerSec)} records/s`, fmtSec(t.lastRecordsMs - t.plannedMs), pct(x.cpuMs, t.readyMs), pct(x.brokerCpuMs, t.readyMs), `bare kafkajs ${fmtInt(bare.msgsPerSec)} msgs/s`, fmtRatio(r.ratios.restoreVsBareKafkajs)],
        ['nudge restore, steady (after the first batch)', x.steadyRecordsPerSec === null ? '– (one batch)' : `${fmtInt(x.steadyRecordsPerSec)} records/s`, fmtSec(t.lastRecordsMs - t.firstRecordsMs), '', '', `bare kafkajs steady ${fmtInt(bare.steadyMsgsPerSec)} msgs/s`, fmtRatio(r.ratios.restoreSteadyVsBareKafkajsSteady)],
        ['nudge restore vs writing alone', `${fmtInt(x.recordsPerSec)} records/s`, '', '', '', `raw LMDB put ${fmtInt(raw.meanOpsPerSec)} ops/s`, fmtRatio(r.ratios.restoreVsRawLmdb)],
        ['time to ready', fmtSec(t.readyMs), '', '', '', `bare read ${fmtSec(bare.elapsedMs)} + raw write ${fmtSec((raw.before.elapsedMs + raw.after.elapsedMs) / 2)}`, fmtRatio(r.ratios.readyVsReadPlusWrite)],
        [
          'per CPU second of this process',
          `${fmtInt((1000 * x.records) / x.cpuMs)} records/CPU-s`,
          '',
          '',
          '',
          `bare kafkajs ${fmtInt((1000 * bare.messages) / bare.cpuMs)} msgs/CPU-s${raw.before.cpuMs !== undefined && raw.after.cpuMs !== undefined ? `; raw LMDB ${fmtInt((2000 * raw.before.ops) / (raw.before.cpuMs + raw.after.cpuMs))} ops/CPU-s` : ''}`,
          fmtRatio((x.records / x.cpuMs) / (bare.messages / bare.cpuMs)),
        ],
        ['bare kafkajs (reference)', `${fmtInt(bare.msgsPerSec)} msgs/s`, fmtSec(bare.elapsedMs), pct(bare.cpuMs, bare.elapsedMs), pct(bare.brokerCpuMs, bare.elapsedMs), '–', '1'],
      ],
    ),
  );
  out.push('');
  out.push(
    'CPU columns are CPU time ÷ the window (100% = one core busy throughout); the broker shares the two cores. On this shared machine the wall-clock rates move with other tenants\' load (compare the three bare runs below); CPU time is ours alone, so the per-CPU-second row is the steadier comparison.',
  );
  out.push('');
  out.push(
    `Time line of the restoring replica, from \`replica.start()\`: restore planned (group joined, transactional producer initialised, offsets read) at ${fmtMs(t.plannedMs)}; first changelog batch applied at ${fmtMs(t.firstRecordsMs)} (${fmtInt(t.firstRecordsCount)} records); last at ${fmtMs(t.lastRecordsMs)}; \`ready\` with its task running at ${fmtMs(t.readyMs)}. ${fmtInt(x.records)} records restored (\`nudge_restore_records_total\`); ${fmtInt(x.toReadyRecordsPerSec)} records/s over the whole time to ready. The counters are sampled every 5 ms, and a batch is applied synchronously, so batch boundaries are exact to a few ms.`,
  );
  out.push('');
  out.push('### Changelog and state');
  out.push('');
  out.push(
    table(
      ['what', 'value'],
      [
        ['changelog offsets (low – end)', `${fmtInt(c.low)} – ${fmtInt(c.high)}`],
        ['changelog records read', `${fmtInt(c.records)} (${fmtInt(c.records - p.users)} checkpoint records; the other offsets are transaction markers)`],
        ['changelog payload (keys + values)', `${fmtMiB(c.payloadBytes)} (${(c.payloadBytes / c.records).toFixed(1)} B/record)`],
        ['changelog on the broker\'s disk', c.segmentBytes === null ? '– (external broker)' : `${fmtMiB(c.segmentBytes)} (${(c.segmentBytes / p.users).toFixed(1)} B/user)`],
        ['state restored: users, counts', `${fmtInt(x.usersStored)}, ${fmtInt(x.counted)} (must both equal ${fmtInt(p.users)})`],
        ['state on disk per user after restore', `${(x.stateFileBytes / x.usersStored).toFixed(0)} B (${(x.stateUsedBytes / x.usersStored).toFixed(0)} B in live pages); ${fmtMiB(x.stateFileBytes)} in all`],
        ['state on disk per user as built incrementally', `${(r.build.stateFileBytes / r.build.usersStored).toFixed(0)} B`],
        ['raw LMDB reference file per user', `${(raw.after.fileBytes / raw.after.ops).toFixed(0)} B`],
        ['peak RSS while restoring', `${fmtMiB(x.peakRssBytes)} (${fmtMiB(x.rssStartBytes)} at start; ${x.peakRssSource})`],
      ],
    ),
  );
  out.push('');
  out.push('### References and how the changelog was made');
  out.push('');
  out.push(
    `- bare kafkajs: one consumer in a fresh group with the restore consumer's fetch settings (\`maxBytesPerPartition\` 8 MiB, \`maxWaitTimeInMs\` 100, read_committed), reading the changelog partition from the beginning and doing nothing with the records; done when the batch holding the last offset arrives (the restore's own test). ${fmtInt(bare.batches)} batches of ${fmtInt(bare.messages / Math.max(1, bare.batches))} records on average. Run once before the restore and twice after: ${r.bareKafkajsRuns.map((b) => fmtInt(b.msgsPerSec)).join(', ')} msgs/s; the ratios use the median. Both it and the restore include a fresh consumer group's join.`,
  );
  out.push(
    `- raw LMDB: the ${fmtInt(raw.before.ops)} changelog key/values (as read by the first bare run) put into a fresh environment opened as \`LmdbStore\` opens it, ${fmtInt(raw.before.opsPerTransaction)} puts plus one checkpoint put per \`transactionSync\` (the mean batch the restore applies at a time). Run before and after the restore: ${fmtInt(raw.before.opsPerSec)} and ${fmtInt(raw.after.opsPerSec)} ops/s (the ratio uses their mean).`,
  );
  out.push(
    `- building: produced ${fmtInt(p.users)} events (kafkajs, idempotent, requests of 10,000, acks=-1) at ${fmtInt(r.build.produce.msgsPerSec)} msgs/s; the first replica processed them at ${fmtInt(r.build.eventsPerSec)} events/s (${fmtSec(r.build.elapsedMs)}).`,
  );
  if (r.broker.startMs !== null) out.push(`- broker: started for the run in ${fmtSec(r.broker.startMs)} (single node, KRaft, \`scripts/kafka-broker.ts\`).`);
  const prof = r.profile;
  if (prof !== null) {
    out.push('');
    out.push('### Where the restoring replica spends its CPU');
    out.push('');
    out.push(
      `This run had the restoring replica (start() to ready) under V8's sampling profiler (1 ms; rates a little lower for it): ${fmtInt(prof.samples)} samples over ${fmtSec(prof.totalMs)}. Top functions by self time (lines of the compiled \`dist/\` files):`,
    );
    out.push('');
    out.push(table(['#', 'self time', 'share', 'function', 'where'], prof.top.map((f, i) => [String(i + 1), fmtMs(f.selfMs), `${(100 * f.selfShare).toFixed(1)}%`, `\`${f.name}\``, f.location === '' ? '–' : `\`${f.location}\``])));
  }
  return out.join('\n');
}

/** A histogram quantile; at the last finite bucket only a lower bound is known. */
function fmtBatchMs(ms: number, maxBucketMs: number): string {
  return ms >= 5000 && ms >= maxBucketMs ? '≥ 5 s' : fmtMs(ms);
}

export function shares(counts: Record<string, number>, total: number): string {
  const entries = Object.entries(counts).sort((a, b) => b[1] - a[1]);
  if (entries.length === 0) return '–';
  return entries.map(([k, n]) => `${k} ${fmtInt(n)} (${((100 * n) / Math.max(1, total)).toFixed(1)}%)`).join(', ');
}

function phaseRow(name: string, x: DecisionsReport['decide'] | DecisionsReport['load']['profiles'], unit: string, counterMean: number, ratio: number): string[] {
  return [
    name,
    `${fmtInt(x.recordsPerSec)} ${unit}/s`,
    fmtSec(x.elapsedMs),
    `${(x.cpuMs / x.elapsedMs).toFixed(2)}`,
    `${fmtInt(x.perCpuSecond)} ${unit}/CPU-s`,
    `counter ${fmtInt(counterMean)} events/s`,
    fmtRatio(ratio),
  ];
}

export function renderDecisionsSection(r: DecisionsReport): string {
  const out: string[] = [];
  const p = r.params;
  const d = r.decide;
  const m = d.mix;
  const c = r.counter;
  const ls = r.load.state;
  out.push(...sectionHead('## decisions: candidates decided per second on the embedded default', r));
  out.push(
    `Workload: the decision topology as \`nudge run\` builds it (\`decisionTopology\` with \`HeuristicScorer\`, sends performed by \`RecordingSink\`, default policy: 5% global control group, default caps) on the embedded default, ${p.partitions} partitions, read cache ${fmtInt(p.cacheEntries)} entries per partition, batches of ${fmtInt(p.maxBatchRecords)}. State: ${fmtInt(p.users)} varied profiles (88% India; partial consent, NCPR blocks, missing phones and tokens, quiet hours, several languages) and ${fmtInt(p.events)} activity events for ${fmtInt(p.activeUsers)} active users. Then one promotional campaign (category 5, sms then push, DLT ids present, 12 h window, no budget) and ${fmtInt(p.candidates)} candidates for distinct random users. The operators' clock is virtual time starting ${p.virtualStart} (Monday 10:00 IST) and moving with real time, so the mix below does not depend on when the bench runs.`,
  );
  out.push('');
  out.push('### Throughput and ratios');
  out.push('');
  out.push(
    table(
      ['phase', 'rate', 'wall time', 'cores busy (CPU ÷ wall)', 'per core', 'reference (same run)', 'ratio'],
      [
        phaseRow('decide (candidates)', d, 'decisions', c.meanEventsPerSec, r.ratios.decisionsVsCounter),
        ['  per core', '', '', '', `${fmtInt(d.perCpuSecond)} decisions/CPU-s`, `counter ${fmtInt(c.meanPerCpuSecond)} events/CPU-s`, fmtRatio(r.ratios.decisionsPerCpuVsCounterPerCpu)],
        phaseRow('load: profiles', r.load.profiles, 'profiles', c.meanEventsPerSec, r.ratios.profilesVsCounter),
        phaseRow('load: events', r.load.events, 'events', c.meanEventsPerSec, r.ratios.eventsVsCounter),
        ['counter (reference)', `${fmtInt(c.meanEventsPerSec)} events/s`, `${fmtSec(c.before.elapsedMs)} / ${fmtSec(c.after.elapsedMs)}`, `${((c.before.cpuMs + c.after.cpuMs) / (c.before.elapsedMs + c.after.elapsedMs)).toFixed(2)}`, `${fmtInt(c.meanPerCpuSecond)} events/CPU-s`, '–', '1'],
      ],
    ),
  );
  out.push('');
  out.push(
    `Each phase is one replica run over records appended to the log while no replica ran, timed from \`replica.start()\` until the replica's checkpoints cover the phase's topic (committed, not just seen); start-up (opening ${p.partitions} stores) is inside: decide phase ready after ${fmtMs(d.readyMs)}, ${fmtInt(d.steadyRecordsPerSec)} decisions/s after it. "Per core" is records ÷ CPU seconds of this process (user + system, all threads, so LMDB and GC threads count). Reference: \`operators/user-counter.ts\` on the same embedded setup (${p.partitions} partitions, fresh state) over ${fmtInt(p.candidates)} events for random users among ${fmtInt(p.users)} (bench/embedded.ts, as the runtime scenario runs it), right before and right after the decide phase: ${fmtInt(c.before.eventsPerSec)} and ${fmtInt(c.after.eventsPerSec)} events/s (${fmtInt((p.candidates * 1000) / c.before.cpuMs)} and ${fmtInt((p.candidates * 1000) / c.after.cpuMs)} per CPU second); ratios use the mean. On this shared machine the wall-clock rates move with other tenants' load (compare the two counter runs); the per-core figures, CPU time being ours alone, are the ones to compare between runs.`,
  );
  out.push('');
  out.push('### What was decided');
  out.push('');
  out.push(
    table(
      ['what', 'value'],
      [
        ['decisions (distinct ids)', `${fmtInt(m.decisions)} (${fmtInt(m.distinctDecisionIds)}), one per candidate`],
        ['actions', shares(m.actions, m.decisions)],
        ['skip reasons (a skip may name several)', shares(m.skipReasons, m.actions['skip'] ?? 0)],
        ['channel of send / schedule / holdout', shares(m.channels, m.decisions - (m.actions['skip'] ?? 0))],
        ['sends performed (RecordingSink) in the window / sends records after stop', `${fmtInt(d.sinkSends)} / ${fmtInt(m.sends)}`],
        ['scheduled-send timers after the run', fmtInt(d.state.timers)],
        ['dead letters', fmtInt(m.deadLetters)],
      ],
    ),
  );
  out.push('');
  out.push('### Batches, memory, state');
  out.push('');
  const b = (x: DecisionsReport['load']['profiles']) => [
    fmtInt(x.batch.batches),
    fmtInt(x.batch.meanRecords),
    fmtBatchMs(x.batch.p50Ms, x.batch.maxBucketMs),
    fmtBatchMs(x.batch.p99Ms, x.batch.maxBucketMs),
    fmtMs((x.batch.meanRecords * 1000) / Math.max(1, x.perCpuSecond)),
  ];
  out.push(
    table(
      ['phase', 'batches', 'records/batch', 'batch p50 (wall)', 'batch p99 (wall)', 'CPU per batch', 'RSS at start', 'peak RSS', 'V8 heap / external at end'],
      [
        ['decide', ...b(d), fmtMiB(d.rssStartBytes), fmtMiB(d.peakRssBytes), `${fmtMiB(d.heapUsedBytes)} / ${fmtMiB(d.externalBytes)}`],
        ['load: profiles', ...b(r.load.profiles), fmtMiB(r.load.profiles.rssStartBytes), fmtMiB(r.load.profiles.peakRssBytes), `${fmtMiB(r.load.profiles.heapUsedBytes)} / ${fmtMiB(r.load.profiles.externalBytes)}`],
        ['load: events', ...b(r.load.events), fmtMiB(r.load.events.rssStartBytes), fmtMiB(r.load.events.peakRssBytes), `${fmtMiB(r.load.events.heapUsedBytes)} / ${fmtMiB(r.load.events.externalBytes)}`],
      ],
    ),
  );
  out.push('');
  out.push(
    `State on disk: after loading, ${(ls.fileBytes / ls.users).toFixed(0)} B per user (data.mdb files ÷ ${fmtInt(ls.users)} users; ${(ls.usedBytes / ls.users).toFixed(0)} B in live pages; the encoded UserState averages ${(ls.userValueBytes / ls.users).toFixed(0)} B); after deciding, ${(d.state.fileBytes / d.state.users).toFixed(0)} B per user (${(d.state.usedBytes / d.state.users).toFixed(0)} B live; UserState ${(d.state.userValueBytes / d.state.users).toFixed(0)} B; ${fmtInt(d.state.ledgerEntries)} ledger entries). Batch durations come from \`nudge_batch_duration_seconds\` (interpolated within buckets, approximate); with ${p.partitions} partitions interleaving at every \`await\` (every store read), a batch's wall time includes the other partitions' batches, so it is about ${p.partitions}× its own cost; "≥ 5 s" means beyond the histogram's last bucket. "CPU per batch" is a batch's own cost: records per batch ÷ records per CPU second. Peak RSS is VmHWM reset at the start of each phase (${d.peakRssSource}), in a process that ran the earlier phases; it includes the pages of the LMDB files (state and embedded log) that were touched, which is why it is far above the V8 heap.`,
  );
  out.push('');
  out.push(
    `Where the time goes: \`node dist/bench/main.js decisions --cpu-prof <dir>\` profiles the decide phase alone (V8 sampling profiler over the same run) and regenerates the "decisions-profile" section below; a plain \`node --cpu-prof\` profile of any run is summarised by \`node dist/bench/cpu-profile.js FILE.cpuprofile\`.`,
  );
  return out.join('\n');
}

export function renderDecisionsProfileSection(r: DecisionsReport): string {
  const prof = r.profile;
  const out: string[] = [];
  out.push(...sectionHead('## decisions-profile: where the decide phase spends its CPU', r));
  if (prof === null) return out.join('\n');
  out.push(
    `The decide phase (${fmtInt(r.params.candidates)} candidates, ${fmtInt(r.params.users)} users in state, ${r.params.partitions} partitions) under V8's sampling profiler (1 ms interval): ${fmtInt(r.decide.recordsPerSec)} decisions/s, against ${fmtInt(r.counter.meanEventsPerSec)} events/s for the counter reference (ratio ${fmtRatio(r.ratios.decisionsVsCounter)}; the profiler slows the phase, so use the "decisions" section's figures for throughput). ${fmtInt(prof.samples)} samples over ${fmtSec(prof.totalMs)}, ${((100 * prof.idleMs) / Math.max(1, prof.totalMs)).toFixed(1)}% idle. Lines are those of the compiled \`dist/\` files.`,
  );
  out.push('');
  out.push(table(['#', 'self time', 'share', 'function', 'where'], prof.top.map((f, i) => [String(i + 1), fmtMs(f.selfMs), `${(100 * f.selfShare).toFixed(1)}%`, `\`${f.name}\``, f.location === '' ? '–' : `\`${f.location}\``])));
  out.push('');
  out.push('By file (self time summed; packages collapsed):');
  out.push('');
  out.push(table(['file', 'self time', 'share'], prof.byFile.map((f) => [`\`${f.file}\``, fmtMs(f.selfMs), `${(100 * f.selfShare).toFixed(1)}%`])));
  return out.join('\n');
}
