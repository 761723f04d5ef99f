import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { RecoveryChildSpec } from './recovery-replica.js';
import { sleep, throwIfAborted } from './measure.js';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'recovery-replica.js');
const STDERR_TAIL = 30;

export interface CaughtUp {
  /** Parent clock, from spawn. */
  atMs: number;
  counted: number;
  users: number;
  stateFileBytes: number;
}

/**
 * A recovery-replica.js process seen from the parent: its reports as they arrive (timed on
 * the parent's clock from the spawn, so process start and module loading are inside), its
 * peak RSS (VmHWM sampled from /proc, as the kernel keeps it), and the two ways it ends.
 */
export class ChildReplica {
  readonly spawnedAt = performance.now();
  readonly #proc: ChildProcess;
  readonly #stderr: string[] = [];
  readonly #exited: Promise<number | null>;
  readonly #rssTimer: NodeJS.Timeout;
  #exitCode: number | null | undefined;
  /** Parent clock, from spawn, when the restore was planned (Kafka: group joined, partitions assigned). */
  assignedMs: number | null = null;
  readyMs: number | null = null;
  /** Milliseconds from the child's own start to its ready report: the same without the spawn. */
  readyInChildMs: number | null = null;
  committedAtReady = 0;
  committed = 0;
  caughtUp: CaughtUp | null = null;
  peakRssBytes = 0;

  constructor(spec: RecoveryChildSpec) {
    this.#proc = spawn(process.execPath, [SCRIPT, JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#exited = new Promise((resolve) => this.#proc.once('exit', (code) => resolve(code)));
    void this.#exited.then((code) => (this.#exitCode = code));
    createInterface({ input: this.#proc.stdout as NodeJS.ReadableStream }).on('line', (line) => this.#onLine(line));
    createInterface({ input: this.#proc.stderr as NodeJS.ReadableStream }).on('line', (line) => {
      this.#stderr.push(line);
      if (this.#stderr.length > STDERR_TAIL) this.#stderr.shift();
    });
    this.#rssTimer = setInterval(() => this.#sampleRss(), 100);
    this.#rssTimer.unref();
  }

  get pid(): number {
    return this.#proc.pid ?? -1;
  }

  #onLine(line: string): void {
    let m: { ev?: string; ms?: number; committed?: number; caughtUpMs?: number; counted?: number; users?: number; stateFileBytes?: number };
    try {
      m = JSON.parse(line) as typeof m;
    } catch {
      return;
    }
    const at = performance.now() - this.spawnedAt;
    if (typeof m.committed === 'number') this.committed = m.committed;
    if (m.ev === 'assigned') this.assignedMs = at;
    else if (m.ev === 'ready') {
      this.readyMs = at;
      this.readyInChildMs = m.ms ?? null;
      this.committedAtReady = m.committed ?? 0;
    } else if (m.ev === 'caught-up') {
      // The child timed the moment before counting its state; shift it onto our clock via the ready report.
      const childGap = (m.caughtUpMs ?? 0) - (this.readyInChildMs ?? 0);
      this.caughtUp = { atMs: (this.readyMs ?? at) + childGap, counted: m.counted ?? -1, users: m.users ?? -1, stateFileBytes: m.stateFileBytes ?? 0 };
    }
  }

  #sampleRss(): void {
    try {
      const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
      const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1]);
      if (Number.isFinite(kb) && kb * 1024 > this.peakRssBytes) this.peakRssBytes = kb * 1024;
    } catch {
      // Gone, or not Linux: the last sample stands.
    }
  }

  /** Resolves when `done()` holds; throws if the child exits first, on abort, or after `timeoutMs`. */
  async until(done: () => boolean, what: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    const t0 = performance.now();
    while (!done()) {
      throwIfAborted(signal);
      if (this.#exitCode !== undefined) throw new Error(`replica process exited (${this.#exitCode}) before ${what}:\n${this.#stderr.join('\n')}`);
      if (performance.now() - t0 > timeoutMs) throw new Error(`no ${what} within ${timeoutMs / 1000} s (${this.committed} committed):\n${this.#stderr.join('\n')}`);
      await sleep(5);
    }
  }

  /** kill -9: no stop(), no flush, no leaving the group. */
  async kill9(): Promise<void> {
    this.#sampleRss();
    clearInterval(this.#rssTimer);
    this.#proc.kill('SIGKILL');
    await this.#exited;
  }

  /** A graceful stop (SIGTERM → replica.stop()), killed if it takes too long. */
  async stop(timeoutMs = 30_000): Promise<void> {
    this.#sampleRss();
    clearInterval(this.#rssTimer);
    if (this.#exitCode !== undefined) return;
    this.#proc.kill('SIGTERM');
    const timer = setTimeout(() => this.#proc.kill('SIGKILL'), timeoutMs);
    await this.#exited;
    clearTimeout(timer);
  }
}
