/**
 * `npm test`: starts a real Kafka broker (unless KAFKA_BROKERS points at one), runs every
 * compiled test file with node's test runner, and stops the broker afterwards, also when
 * tests fail or the run is interrupted.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { delimiter, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
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

/**
 * `--later-days N` runs the tests with the system clock N days ahead. Tests and benches pin
 * their simulated worlds to fixed dates so that runs repeat; code that compares such a date
 * with the real clock passes on the day it is written and fails once the date is past (as an
 * OTP window on a fixed Monday did, read against the system clock). This run finds such
 * mixes before the calendar does. `npm run test:later` uses it; CI runs it after `npm test`.
 */
function testArgs(args: string[]): { laterDays?: number; filter: string[]; error?: string } {
  let parsed: ReturnType<typeof parseArgs<{ allowPositionals: true; options: { 'later-days': { type: 'string' } } }>>;
  try {
    parsed = parseArgs({ args, allowPositionals: true, options: { 'later-days': { type: 'string' } } });
  } catch (err) {
    return { filter: [], error: `${(err as Error).message} (allowed: words of test file paths, and --later-days N)` };
  }
  const filter = parsed.positionals;
  const text = parsed.values['later-days'];
  if (text === undefined) return { filter };
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 36_500) return { filter, error: `--later-days: got ${JSON.stringify(text)} (allowed: a whole number of days from 1 to 36500)` };
  return { laterDays: n, filter };
}

/** How many days ahead a node process started under faketime reads the clock; an Error when it cannot tell, or it is not ahead by `days`. */
function clockAhead(days: number, env: NodeJS.ProcessEnv): number | Error {
  const before = Date.now();
  const out = spawnSync('faketime', ['-f', `+${days}d`, process.execPath, '-e', 'process.stdout.write(String(Date.now()))'], { env, encoding: 'utf8' });
  const read = Number(out.stdout);
  if (out.status !== 0 || !Number.isFinite(read)) return new Error(`a process under faketime did not report its clock (${out.error?.message ?? out.stderr.trim()})`);
  const ahead = (read - before) / 86_400_000;
  // A day's slack: the probe takes a moment, and libfaketime's offset is exact.
  return Math.abs(ahead - days) < 1 ? ahead : new Error(`a process under faketime read the clock ${ahead.toFixed(2)} days ahead, not ${days}`);
}

function onPath(command: string): boolean {
  return (process.env['PATH'] ?? '').split(delimiter).some((dir) => dir !== '' && existsSync(join(dir, command)));
}

async function main(): Promise<number> {
  // A value that is not a whole positive number of milliseconds would fire the deadline at once.
  const limitMs = Number(process.env['NUDGE_TEST_DEADLINE_MS'] ?? 75 * 60_000);
  if (!Number.isInteger(limitMs) || limitMs <= 0) {
    console.error(`configuration error: NUDGE_TEST_DEADLINE_MS: got ${process.env['NUDGE_TEST_DEADLINE_MS']} (allowed: a whole number of milliseconds above 0)`);
    return 2;
  }
  const { laterDays, filter, error } = testArgs(process.argv.slice(2));
  if (error !== undefined) {
    console.error(`configuration error: ${error}`);
    return 2;
  }
  if (laterDays !== undefined && !onPath('faketime')) {
    console.error('--later-days needs libfaketime: apt-get install -y faketime');
    return 1;
  }
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
    const command = [process.execPath, '--test', '--test-reporter=spec', ...files];
    if (laterDays !== undefined) {
      // The broker above runs on the real clock; the tests, and what they start, run laterDays
      // ahead. Monotonic clocks stay real: timers and timeouts are not what is being tested.
      command.unshift('faketime', '-f', `+${laterDays}d`);
      env['FAKETIME_DONT_FAKE_MONOTONIC'] = '1';
      // A preload that did not take would run today's tests and pass: the run would prove nothing.
      const ahead = clockAhead(laterDays, env);
      if (ahead instanceof Error) {
        console.error(`--later-days: ${ahead.message}`);
        return 1;
      }
      console.error(`the tests' clock is ${ahead.toFixed(2)} days ahead of the real one (libfaketime)`);
    }
    const started = spawn(command[0] as string, command.slice(1), { stdio: 'inherit', env, detached: true });
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
