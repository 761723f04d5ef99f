import { KAFKA_VERSION } from '../scripts/kafka-broker.js';
import { cpuShare, sectionHead } from './report-ingest.js';
import { describeMachine, fmtInt, fmtMiB, fmtRatio, fmtSec, table, writeScenario, type MachineInfo } from './report.js';
import { main as runStreamsPeerMain, type StreamsPeerMainReport } from './streams-peer.js';

export interface StreamsPeerReport extends StreamsPeerMainReport {
  scenario: 'streams-peer';
  date: string;
  command: string;
  durationMs: number;
  machine: MachineInfo;
}

/**
 * The Kafka Streams peer as a bench scenario: nudge's per-user counter on Kafka, then the same
 * counter as a Kafka Streams 3.9.1 application (bench/streams-peer/) on the same topic of the
 * same broker, exactly-once: nudge ÷ Streams in events/s and in events per CPU-second.
 */
export async function runStreamsPeerBench(opts: { events: number; partitions: number; out?: string; log?: (s: string) => void }): Promise<StreamsPeerReport> {
  const date = new Date().toISOString();
  const machine = describeMachine(KAFKA_VERSION);
  const t0 = performance.now();
  const log = opts.log ?? (() => undefined);
  const main = await runStreamsPeerMain(['--events', String(opts.events), '--partitions', String(opts.partitions), '--nudge', '--guarantee', 'exactly_once'], { print: false, log });
  const report: StreamsPeerReport = {
    scenario: 'streams-peer',
    date,
    command: `node dist/bench/main.js streams-peer --events ${opts.events} --partitions ${opts.partitions}`,
    durationMs: performance.now() - t0,
    machine,
    ...main,
  };
  if (opts.out !== undefined) {
    const written = await writeScenario('streams-peer', report, renderStreamsPeerSection(report), opts.out);
    log(`wrote ${written.json} and ${written.markdown}`);
  }
  return report;
}

export function renderStreamsPeerSection(r: StreamsPeerReport): string {
  const out = sectionHead('## streams-peer: nudge vs Kafka Streams, per core', r);
  out.push(
    `Workload: ${fmtInt(r.params.events)} events over ${fmtInt(r.params.users)} users, ${r.params.partitions} partitions, the per-user counter: nudge's \`operators/user-counter.ts\` (one replica, as the runtime scenario runs it) and the same topology written for Kafka Streams 3.9.1 (\`bench/streams-peer/\`, RocksDB store), each reading the same input topic of the same broker in its own group. Streams jars ${r.build.coldOrWarm === 'cold' ? `built in ${fmtSec(r.build.ms)}` : 'cached'}; the JVM's launch is outside its window.`,
  );
  out.push('');
  const rows: string[][] = [];
  for (const run of r.runs) {
    const n = run.nudge;
    if (n !== null) rows.push([`nudge ${run.guarantee}`, `${fmtInt(n.eventsPerSec)} events/s`, fmtSec(n.elapsedMs), cpuShare(n.cpuMs, n.elapsedMs), `${fmtInt(r.params.events / (n.cpuMs / 1000))}`, fmtMiB(n.peakRssBytes), '–']);
    const p = run.peer;
    rows.push([`Kafka Streams ${run.guarantee}`, `${fmtInt(p.eventsPerSec)} events/s`, fmtSec(p.wallMs), `${Math.round(p.cpuPerCore * 100)}%`, fmtInt(p.eventsPerCpuSecond), p.peakRssBytes === null ? '–' : fmtMiB(p.peakRssBytes), '1']);
    if (run.ratios !== null) rows.push([`nudge ÷ Streams`, fmtRatio(run.ratios.eventsPerSec), '', '', fmtRatio(run.ratios.eventsPerCpuSecond), '', '']);
  }
  out.push(table(['subject', 'rate', 'wall time', 'CPU (of a core)', 'events per CPU-second', 'peak RSS', 'reference'], rows));
  out.push('');
  out.push(
    'Windows: nudge from `replica.start()` until its checkpoints cover the input; Streams from `KafkaStreams.start()` until the group\'s committed offsets cover it (both include group join and start-up). CPU is that of the process alone (node, or the JVM), not the broker\'s; "per CPU-second" is the per-core figure, the one that travels between machines. See `bench/streams-peer/README.md` for what the peer does and does not do.',
  );
  return out.join('\n');
}
