import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../config/load.js';
import { ConfigError } from '../errors/index.js';
import { EmbeddedLog, type AppendRecord } from '../processor/embedded/log.js';
import { createLogger } from '../processor/logger.js';
import { createReplica } from '../processor/create-replica.js';
import { EVENT_TYPES } from '../processor/messages/index.js';
import { userCounterTopology, COUNTS_STORE, type UserCount } from '../operators/user-counter.js';

export interface DemoArgs {
  users: number;
  events: number;
  partitions: number;
  seed: number;
}

/** A small deterministic PRNG (mulberry32): the same seed gives the same demo everywhere. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The runtime end to end on the embedded default: a stream of user events (with a few
 * malformed records mixed in) through the partitioned processor, per-user state in LMDB,
 * outputs and dead letters on the embedded log.
 */
export async function demoCommand(args: DemoArgs): Promise<number> {
  if (!Number.isInteger(args.users) || args.users < 1) throw new ConfigError('--users', `got ${args.users}`, 'an integer ≥ 1');
  if (!Number.isInteger(args.events) || args.events < 1) throw new ConfigError('--events', `got ${args.events}`, 'an integer ≥ 1');
  const dir = mkdtempSync(join(tmpdir(), 'nudge-demo-'));
  const logger = createLogger('warn');
  try {
    const config = validateConfig({ state: { dir: join(dir, 'state') }, embedded: { partitions: args.partitions }, http: { port: 0 } });
    const log = new EmbeddedLog(join(dir, 'log'));
    const { replica } = createReplica({ config, topology: () => userCounterTopology(), logger, embeddedLog: log });
    const rand = random(args.seed);
    const start = Date.UTC(2026, 10, 21, 4, 30);
    // Activity is skewed, as in real apps: a few users produce much of the traffic.
    const userOf = () => `u${Math.floor(args.users * rand() ** 2)}`;
    const topic = replica.topics.input('events');
    log.createTopic(topic, args.partitions);
    const batch: AppendRecord[] = [];
    for (let i = 0; i < args.events; i++) {
      const userId = userOf();
      const type = EVENT_TYPES[Math.floor(rand() * 6)] as string;
      batch.push({ key: userId, value: JSON.stringify({ userId, ts: start + i * 50, type }) });
      if (batch.length === 10_000) log.append(topic, batch.splice(0));
    }
    const bad: AppendRecord[] = [
      { key: 'u1', value: '{"userId":"u1","ts":17637' },
      { key: 'u2', value: JSON.stringify({ userId: 'u2', ts: true, type: 'view' }) },
      { key: 'u3', value: JSON.stringify({ ts: start, type: 'view' }) },
      { key: 'u4', value: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]) },
      { key: 'u5', value: '' },
      { key: 'u6', value: JSON.stringify({ userId: 'u6', ts: start, type: 'view' }), headers: { 'content-type': 'text/csv' } },
    ];
    log.append(topic, [...batch, ...bad]);
    const total = args.events + bad.length;
    const ends = Array.from({ length: args.partitions }, (_, p) => log.end(topic, p));

    console.log(`nudge demo: ${args.events.toLocaleString('en')} events from ${args.users.toLocaleString('en')} users (+${bad.length} malformed) on ${args.partitions} partitions, embedded log, LMDB state`);
    const t0 = performance.now();
    await replica.start();
    for (;;) {
      const done = ends.every((end, p) => (replica.tasks.get(p)?.position(topic) ?? 0) >= end);
      if (done) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const seconds = (performance.now() - t0) / 1000;
    const counts: Array<[string, UserCount]> = [];
    for (const task of replica.tasks.values()) {
      for await (const [key, value] of task.state.store<UserCount>(COUNTS_STORE.name).scan()) counts.push([key[0] as string, value]);
    }
    counts.sort((a, b) => b[1].n - a[1].n);
    const outputs = ends.reduce((n, _, p) => n + log.end(replica.topics.output('counts'), p), 0);
    const dead = log.read(replica.topics.output('deadletter'), 0, 0, 1000);
    for (let p = 1; p < args.partitions; p++) dead.push(...log.read(replica.topics.output('deadletter'), p, 0, 1000));
    const stateBytes = (await Promise.all([...replica.tasks.values()].map((t) => t.state.engine.sizeOnDisk()))).reduce((a, b) => a + b, 0);
    await replica.stop();
    await log.close();

    console.log(`processed ${total.toLocaleString('en')} records in ${seconds.toFixed(2)} s (${Math.round(total / seconds).toLocaleString('en')} records/s)`);
    console.log(`users with state: ${counts.length.toLocaleString('en')}; outputs on ${replica.topics.output('counts')}: ${outputs.toLocaleString('en')}; state on disk: ${(stateBytes / 1024 / 1024).toFixed(1)} MiB`);
    console.log('most active users:');
    for (const [user, c] of counts.slice(0, 5)) console.log(`  ${user.padEnd(8)} ${String(c.n).padStart(6)} events  ${JSON.stringify(c.byType)}`);
    console.log(`dead letters (${dead.length}), each with its reason:`);
    for (const d of dead) {
      const letter = JSON.parse((d.value as Buffer).toString('utf8')) as { offset: number; partition: number; error: { code: string; message: string } };
      console.log(`  p${letter.partition}@${letter.offset} ${letter.error.code}: ${letter.error.message.slice(0, 90)}`);
    }
    const counted = counts.reduce((n, [, c]) => n + c.n, 0);
    if (counted !== args.events || dead.length !== bad.length) {
      console.error(`mismatch: counted ${counted} of ${args.events} events, ${dead.length} of ${bad.length} dead letters`);
      return 1;
    }
    console.log('every good event counted once, every bad record dead-lettered with a reason.');
    return 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
