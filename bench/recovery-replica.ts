/**
 * A replica of the per-user counter in its own process, for the recovery scenario: the
 * parent SIGKILLs it mid-run and starts another on the same (or a fresh) state dir.
 *
 *   node dist/bench/recovery-replica.js '<RecoveryChildSpec as JSON>'
 *
 * Reports on stdout, one JSON object a line (times in ms from this process's start, as
 * `performance.now()` counts them, so module loading is inside):
 *   {"ev":"started","ms"}                      replica.start() resolved
 *   {"ev":"assigned","ms"}                     the restore was planned (group joined, partitions assigned); Kafka only
 *   {"ev":"ready","ms","committed"}            replica.ready with every partition's task (what /readyz reports)
 *   {"ev":"progress","ms","committed"}         every PROGRESS_MS
 *   {"ev":"caught-up","caughtUpMs","counted","users"}  checkpoints cover the input; counts summed from state
 * then keeps running (as a replica would) until killed or sent SIGTERM (graceful stop).
 */
import { pino } from 'pino';
import { validateConfig } from '../config/load.js';
import { errorMessage } from '../errors/index.js';
import { userCounterTopology } from '../operators/user-counter.js';
import { createReplica } from '../processor/create-replica.js';
import { createLogger } from '../processor/logger.js';
import { TopicNames } from '../processor/topic-names.js';
import { sleep, stateFootprint } from './measure.js';

export interface RecoveryChildSpec {
  engine: 'embedded' | 'kafka';
  stateDir: string;
  partitions: number;
  /** Records per partition of the input topic: caught up when the checkpoints reach them. */
  ends: number[];
  /** Kafka only. */
  brokers?: string;
  prefix?: string;
}

const PROGRESS_MS = 100;

function emit(ev: string, fields: Record<string, number> = {}): void {
  process.stdout.write(`${JSON.stringify({ ev, ms: Math.round(performance.now()), ...fields })}\n`);
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '') as RecoveryChildSpec;
  process.env['KAFKAJS_NO_PARTITIONER_WARNING'] ??= '1';
  const config = validateConfig({
    state: { dir: spec.stateDir },
    http: { port: 0 },
    log: { level: 'warn' },
    ...(spec.engine === 'embedded'
      ? { embedded: { partitions: spec.partitions } }
      : {
          topics: { prefix: spec.prefix ?? '' },
          kafka: { brokers: (spec.brokers ?? '').split(','), groupId: `${spec.prefix ?? ''}group`, replicaId: 'bench-recovery', partitions: spec.partitions },
          processor: { guarantee: 'exactly_once' as const },
        }),
  });
  const logger = createLogger('warn', pino.destination({ dest: 2, sync: true }));
  const topic = new TopicNames(config.topics).input('events');
  const { replica } = createReplica({ config, topology: () => userCounterTopology(), logger });
  replica.onFatal((err) => {
    process.stderr.write(`recovery replica: fatal: ${errorMessage(err)}\n`);
    process.exit(1);
  });
  process.on('SIGTERM', () => {
    void replica.stop().finally(() => process.exit(0));
  });
  await replica.start();
  emit('started');
  const total = spec.ends.reduce((a, b) => a + b, 0);
  let ready = false;
  let planned = false;
  let lastProgress = 0;
  for (;;) {
    // Restore planned: the group joined and partitions assigned (the restore sets its target then).
    if (!planned && !ready && (await replica.metrics.restoreRemaining.get()).values.length > 0) {
      planned = true;
      emit('assigned');
    }
    let committed = 0;
    for (const [p, end] of spec.ends.entries()) committed += Math.min(end, replica.tasks.get(p)?.position(topic) ?? 0);
    if (!ready && replica.ready && replica.tasks.size === spec.partitions) {
      ready = true;
      emit('ready', { committed });
    }
    const now = performance.now();
    if (now - lastProgress >= PROGRESS_MS) {
      lastProgress = now;
      emit('progress', { committed });
    }
    if (ready && committed >= total) break;
    await sleep(5);
  }
  // The time is taken before the scan: counting is the bench's check, not the replica's work.
  const caughtUpMs = Math.round(performance.now());
  const footprint = await stateFootprint(replica);
  emit('caught-up', { caughtUpMs, counted: footprint.counted, users: footprint.users, stateFileBytes: footprint.fileBytes });
}

main().catch((err: unknown) => {
  process.stderr.write(`recovery replica: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
