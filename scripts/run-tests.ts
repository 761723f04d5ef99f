/**
 * `npm test`: starts a real Kafka broker (unless KAFKA_BROKERS points at one), runs every
 * compiled test file with node's test runner, and stops the broker afterwards, also when
 * tests fail or the run is interrupted.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureKafkaJars, startBroker, type KafkaBroker } from './kafka-broker.js';

const distRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

function testFiles(dir: string, filter: string[]): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...testFiles(path, filter));
    else if (name.endsWith('.test.js') && (filter.length === 0 || filter.some((f) => path.includes(f)))) out.push(path);
  }
  return out.sort();
}

async function main(): Promise<number> {
  // A value that is not a whole positive number of milliseconds would fire the deadline at once.
  const limitMs = Number(process.env['NUDGE_TEST_DEADLINE_MS'] ?? 75 * 60_000);
  if (!Number.isInteger(limitMs) || limitMs <= 0) {
    console.error(`configuration error: NUDGE_TEST_DEADLINE_MS: got ${process.env['NUDGE_TEST_DEADLINE_MS']} (allowed: a whole number of milliseconds above 0)`);
    return 2;
  }
  const filter = process.argv.slice(2);
  const files = testFiles(join(distRoot, 'test'), filter);
  if (files.length === 0) {
    console.error(`no test files match ${filter.join(' ')}`);
    return 1;
  }
  let broker: KafkaBroker | undefined;
  const env: NodeJS.ProcessEnv = { ...process.env, KAFKAJS_NO_PARTITIONER_WARNING: '1' };
  if (env['KAFKA_BROKERS'] === undefined || env['KAFKA_BROKERS'] === '') {
    const log = (s: string) => console.error(`[kafka] ${s}`);
    await ensureKafkaJars({ log });
    const started = Date.now();
    broker = await startBroker({ log });
    env['KAFKA_BROKERS'] = broker.brokers;
    console.error(`[kafka] broker ${broker.brokers} ready in ${Date.now() - started} ms`);
  }
  const stop = async () => {
    await broker?.stop().catch((err: unknown) => console.error(`[kafka] stop failed: ${String(err)}`));
    broker = undefined;
  };
  let child: ChildProcess | undefined;
  // The test runner and its per-file processes, as one process group.
  const killAll = () => {
    if (child?.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      killAll();
      void stop().then(() => process.exit(130));
    });
  }
  try {
    console.error(`running ${files.length} test files: ${files.map((f) => relative(distRoot, f)).join(' ')}`);
    // No --test-force-exit: with several files at once it makes node's runner drop the verdicts
    // of tests that ran (the tail of a file, under load), and still exit 0 with a smaller count
    // (nodejs/node#64833; seen here as two state-layers tests missing from a run). A file that
    // a failed test leaves hanging on an open socket is stopped by this deadline instead.
    const started = spawn(process.execPath, ['--test', '--test-reporter=spec', ...files], { stdio: 'inherit', env, detached: true });
    child = started;
    return await new Promise<number>((resolve) => {
      const deadline = setTimeout(() => {
        console.error(`tests still running after ${Math.round(limitMs / 60_000)} min (NUDGE_TEST_DEADLINE_MS): stopped; a test left something open`);
        killAll();
      }, limitMs);
      started.on('exit', (code, signal) => {
        clearTimeout(deadline);
        resolve(code ?? (signal !== null ? 1 : 0));
      });
    });
  } finally {
    killAll();
    await stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
